//! Test specs: the JSON file beside a module, parsed and validated into a [`Spec`].
//!
//! Both forms of the spec format (`docs/spec-format.md`) are read here: the legacy
//! single-run form (`args`, `env`, `root`, `dirs`, `exit_code`, `stdout`, `stderr`)
//! and the operation form (`operations`, `proposals`, `world`, `servers`), plus this
//! project's extensions. A legacy spec is converted to operations (`run`, `wait`), so
//! later stages see one shape. This module knows nothing of wasmtime.
//!
//! Each key is declared once, as a field of the spec file's serde types
//! ([`raw`]); the JSON Schema ([`schema`]) is generated from them, the shape
//! check ([`shape`]) reads that schema to word its errors, and `validate`
//! turns the types into a [`Spec`]. See "Adding a spec key" in the README.
//!
//! ```
//! use wasi_conform::spec::{Spec, Operation};
//! let spec = Spec::from_json_str(r#"{"args": ["a"], "exit_code": 3}"#, "t.json".as_ref()).unwrap();
//! assert!(matches!(spec.operations[0], Operation::Run(_)));
//! ```

mod error;
pub mod http;
mod model;
mod parse;
pub mod raw;
pub mod schema;
pub mod shape;
mod validate;

use std::path::Path;

pub use error::{
    Problem, SpecError, describe, did_you_mean, problems_text, type_name, unknown_key_message,
};
pub use model::*;

impl Spec {
    /// Reads and validates a spec file.
    pub fn from_file(file: &Path) -> Result<Spec, SpecError> {
        let text = crate::files::read_text(file, crate::files::MAX_SPEC_BYTES)
            .map_err(|e| SpecError::Read { error: e })?;
        Spec::from_json_str(&text, file)
    }

    /// Parses and validates spec text; `file` names it in errors and anchors
    /// relative paths. Every problem of the spec is reported at once.
    pub fn from_json_str(text: &str, file: &Path) -> Result<Spec, SpecError> {
        parse::spec(text, file)
    }
}

#[cfg(test)]
mod tests;
