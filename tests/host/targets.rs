//! The test targets themselves.

use std::path::{Path, PathBuf};

use crate::common;

/// The `.rs` files of a target: its file, or every file of its directory when
/// it is a `DIR/main.rs`.
fn target_files(path: &Path) -> Vec<PathBuf> {
    if path.file_name().is_some_and(|n| n == "main.rs") {
        let dir = path.parent().unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    }
}

/// In a `harness = false` target a `#[test]` function is never compiled, so it
/// would never run: each test must be listed in the target's `main` instead.
pub fn harness_false_targets_have_no_test_attributes() {
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(common::root().join("Cargo.toml")).unwrap())
            .unwrap();
    let targets = manifest["test"].as_array().expect("[[test]] entries");
    let mut checked = Vec::new();
    let mut found = Vec::new();
    for target in targets {
        if target.get("harness").and_then(toml::Value::as_bool) != Some(false) {
            continue;
        }
        let path = common::root().join(target["path"].as_str().unwrap());
        for file in target_files(&path) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("#[test") || line.starts_with("#[tokio::test") {
                    found.push(format!("{}:{}", file.display(), i + 1));
                }
            }
            checked.push(file);
        }
    }
    assert!(checked.len() >= 4, "{checked:?}");
    assert!(
        found.is_empty(),
        "#[test] in a harness = false target (list the function in the target's main \
         instead): {found:?}"
    );
}
