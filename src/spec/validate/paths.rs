//! Paths a spec names (fixtures, golden files, stdin files): relative to the
//! spec's directory and, symlinks followed, inside the suite's directory tree.

use std::path::{Path, PathBuf};

use super::Validator;

impl Validator<'_> {
    /// Resolves a fixture directory against the spec's directory and checks that it
    /// exists and, symlinks followed, lies inside the suite's directory.
    pub(super) fn fixture_dir(&mut self, rel: &str, key: &str) -> Option<PathBuf> {
        if rel.is_empty() {
            self.problem(key, "the directory name is empty");
            return None;
        }
        let path = self.confined(rel, key)?;
        if !path.is_dir() {
            self.problem(
                key,
                format!(
                    "directory `{}` does not exist (paths are relative to the spec's directory)",
                    path.display()
                ),
            );
            return None;
        }
        Some(path)
    }

    /// A data file (golden file, stdin file) named by the spec: relative to the
    /// spec's directory and inside it. Whether it exists is checked when it is used.
    pub(super) fn data_file(&mut self, rel: &str, key: &str) -> Option<PathBuf> {
        if rel.is_empty() {
            self.problem(key, "the path is empty");
            return None;
        }
        self.confined(rel, key)
    }

    /// A data file that must exist now, as a regular file (a `stdin` file).
    pub(super) fn existing_file(&mut self, rel: &str, key: &str) -> Option<PathBuf> {
        let file = self.data_file(rel, key)?;
        match std::fs::metadata(&file) {
            Ok(m) if m.is_file() => Some(file),
            Ok(m) => {
                self.problem(
                    key,
                    format!(
                        "`{}` is {}, not a regular file",
                        file.display(),
                        crate::files::kind_of(m.file_type())
                    ),
                );
                None
            }
            Err(_) => {
                self.problem(
                    key,
                    format!(
                        "file `{}` does not exist (paths are relative to the spec's directory)",
                        file.display()
                    ),
                );
                None
            }
        }
    }

    /// `rel` against the spec's directory, refused unless it stays (symlinks
    /// followed) inside the suite's directory: a spec may not reach the rest of the host.
    fn confined(&mut self, rel: &str, key: &str) -> Option<PathBuf> {
        let path = self.base.join(rel);
        let root = if self.base.as_os_str().is_empty() {
            Path::new(".")
        } else {
            self.base.as_path()
        };
        if Path::new(rel).is_absolute() || !crate::files::is_inside(&path, root) {
            self.problem(
                key,
                format!(
                    "`{rel}` is outside the suite's directory; paths in a spec are relative to \
                     it and stay inside it (symlinks included). To map another host \
                     directory, use the command line (`wasi-conform run MODULE --dir HOST`)"
                ),
            );
            return None;
        }
        Some(path)
    }
}
