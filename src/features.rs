//! Wasm proposals a test may enable (`features` in a spec or a suite's
//! `manifest.json`, `--wasm-features` on the command line), named as the
//! wasmtime CLI's `-W` flags.
//!
//! ```
//! use wasi_conform::features::{Feature, FeatureSet};
//! let set: FeatureSet = [Feature::parse("tail-call").unwrap()].into_iter().collect();
//! assert!(set.needs_cranelift());
//! assert_eq!(set.to_string(), "tail-call");
//! ```

use std::fmt;

/// One wasm proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    Exceptions,
    Gc,
    FunctionReferences,
    TailCall,
    Threads,
    Memory64,
    MultiMemory,
    RelaxedSimd,
    WideArithmetic,
    CustomPageSizes,
    ExtendedConst,
    Simd,
    BulkMemory,
    ReferenceTypes,
    MultiValue,
}

impl Feature {
    /// Every feature, in the order they are listed.
    pub const ALL: [Feature; 15] = [
        Feature::Exceptions,
        Feature::Gc,
        Feature::FunctionReferences,
        Feature::TailCall,
        Feature::Threads,
        Feature::Memory64,
        Feature::MultiMemory,
        Feature::RelaxedSimd,
        Feature::WideArithmetic,
        Feature::CustomPageSizes,
        Feature::ExtendedConst,
        Feature::Simd,
        Feature::BulkMemory,
        Feature::ReferenceTypes,
        Feature::MultiValue,
    ];

    /// The wasmtime CLI's `-W` name.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Exceptions => "exceptions",
            Feature::Gc => "gc",
            Feature::FunctionReferences => "function-references",
            Feature::TailCall => "tail-call",
            Feature::Threads => "threads",
            Feature::Memory64 => "memory64",
            Feature::MultiMemory => "multi-memory",
            Feature::RelaxedSimd => "relaxed-simd",
            Feature::WideArithmetic => "wide-arithmetic",
            Feature::CustomPageSizes => "custom-page-sizes",
            Feature::ExtendedConst => "extended-const",
            Feature::Simd => "simd",
            Feature::BulkMemory => "bulk-memory",
            Feature::ReferenceTypes => "reference-types",
            Feature::MultiValue => "multi-value",
        }
    }

    /// Parses a `-W` name; the error lists the known names (with a did-you-mean).
    pub fn parse(name: &str) -> Result<Feature, String> {
        if let Some(f) = Feature::ALL.iter().find(|f| f.name() == name) {
            return Ok(*f);
        }
        let names: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
        let hint = crate::spec::did_you_mean(name, &names)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Err(format!(
            "unknown wasm feature `{name}`{hint} (known: {})",
            names.join(", ")
        ))
    }

    /// Winch, the default (baseline) compiler, cannot compile modules using it.
    /// Winch implements the threads proposal (atomics, wait/notify) on x86-64 only.
    pub fn needs_cranelift(self) -> bool {
        match self {
            Feature::Exceptions
            | Feature::Gc
            | Feature::FunctionReferences
            | Feature::TailCall
            | Feature::RelaxedSimd => true,
            Feature::Threads => !cfg!(target_arch = "x86_64"),
            _ => false,
        }
    }

    /// On in the harness's default engine without being asked for.
    pub fn on_by_default(self) -> bool {
        matches!(
            self,
            Feature::ExtendedConst
                | Feature::MultiMemory
                | Feature::Memory64
                | Feature::Simd
                | Feature::BulkMemory
                | Feature::ReferenceTypes
                | Feature::MultiValue
        )
    }

    /// The wasmparser flags of this proposal.
    pub fn flags(self) -> wasmparser::WasmFeatures {
        use wasmparser::WasmFeatures as W;
        match self {
            Feature::Exceptions => W::EXCEPTIONS,
            Feature::Gc => W::GC | W::GC_TYPES,
            Feature::FunctionReferences => W::FUNCTION_REFERENCES,
            Feature::TailCall => W::TAIL_CALL,
            Feature::Threads => W::THREADS,
            Feature::Memory64 => W::MEMORY64,
            Feature::MultiMemory => W::MULTI_MEMORY,
            Feature::RelaxedSimd => W::RELAXED_SIMD,
            Feature::WideArithmetic => W::WIDE_ARITHMETIC,
            Feature::CustomPageSizes => W::CUSTOM_PAGE_SIZES,
            Feature::ExtendedConst => W::EXTENDED_CONST,
            Feature::Simd => W::SIMD,
            Feature::BulkMemory => W::BULK_MEMORY,
            Feature::ReferenceTypes => W::REFERENCE_TYPES,
            Feature::MultiValue => W::MULTI_VALUE,
        }
    }

    /// Turns the proposal on in a wasmtime configuration.
    pub fn enable(self, config: &mut wasmtime::Config) {
        match self {
            Feature::Exceptions => config.wasm_exceptions(true),
            Feature::Gc => config.wasm_gc(true).wasm_function_references(true),
            Feature::FunctionReferences => config.wasm_function_references(true),
            Feature::TailCall => config.wasm_tail_call(true),
            Feature::Threads => config.wasm_threads(true).shared_memory(true),
            Feature::Memory64 => config.wasm_memory64(true),
            Feature::MultiMemory => config.wasm_multi_memory(true),
            Feature::RelaxedSimd => config.wasm_relaxed_simd(true),
            Feature::WideArithmetic => config.wasm_wide_arithmetic(true),
            Feature::CustomPageSizes => config.wasm_custom_page_sizes(true),
            Feature::ExtendedConst => config.wasm_extended_const(true),
            Feature::Simd => config.wasm_simd(true),
            Feature::BulkMemory => config.wasm_bulk_memory(true),
            Feature::ReferenceTypes => config.wasm_reference_types(true),
            Feature::MultiValue => config.wasm_multi_value(true),
        };
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// In a spec or manifest, a feature is its `-W` name.
impl serde::Serialize for Feature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Feature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Feature::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Feature {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Feature".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Feature::ALL.iter().map(|f| f.name()).collect();
        schemars::json_schema!({
            "type": "string",
            "enum": names,
            "description": "A wasm proposal, named as a wasmtime -W flag.",
        })
    }
}

/// A set of proposals, kept sorted and without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeatureSet(Vec<Feature>);

impl FeatureSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Feature> + '_ {
        self.0.iter().copied()
    }

    pub fn contains(&self, f: Feature) -> bool {
        self.0.contains(&f)
    }

    /// Adds more proposals.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Feature>) {
        self.0.extend(more);
        self.0.sort();
        self.0.dedup();
    }

    /// Whether a proposal of the set needs Cranelift (Winch lacks it).
    pub fn needs_cranelift(&self) -> bool {
        self.0.iter().any(|f| f.needs_cranelift())
    }

    /// The proposals of the set Winch lacks.
    pub fn winch_lacks(&self) -> Vec<Feature> {
        self.0
            .iter()
            .copied()
            .filter(|f| f.needs_cranelift())
            .collect()
    }
}

impl FromIterator<Feature> for FeatureSet {
    fn from_iter<I: IntoIterator<Item = Feature>>(iter: I) -> Self {
        let mut set = FeatureSet::default();
        set.extend(iter);
        set
    }
}

impl fmt::Display for FeatureSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|x| x.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// The proposals a module uses that `enabled` lacks: each proposal whose removal
/// from a permissive validator makes the module invalid. Every blocker is
/// named, not only the first. Costs one validation per proposal, so it is
/// meant for explaining a failure, not for the hot path.
pub fn required_by(bytes: &[u8], enabled: &FeatureSet) -> Vec<Feature> {
    use wasmparser::{Validator, WasmFeatures};
    let everything = Feature::ALL
        .iter()
        .fold(WasmFeatures::default(), |acc, f| acc | f.flags());
    let valid = |features: WasmFeatures| {
        Validator::new_with_features(features)
            .validate_all(bytes)
            .is_ok()
    };
    if !valid(everything) {
        return Vec::new();
    }
    Feature::ALL
        .iter()
        .copied()
        .filter(|f| !enabled.contains(*f) && !f.on_by_default())
        .filter(|f| !valid(everything & !f.flags()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_typos_are_explained() {
        for f in Feature::ALL {
            assert_eq!(Feature::parse(f.name()), Ok(f));
        }
        let e = Feature::parse("tailcall").unwrap_err();
        assert!(e.contains("did you mean `tail-call`?"), "{e}");
    }

    #[test]
    fn finds_every_proposal_a_module_needs() {
        let wasm = wat::parse_str(
            r#"(module
                 (memory 1 (pagesize 1))
                 (func $f (result i32) (return_call $g))
                 (func $g (result i32) i32.const 1))"#,
        )
        .unwrap();
        let needed = required_by(&wasm, &FeatureSet::default());
        assert!(needed.contains(&Feature::TailCall), "{needed:?}");
        assert!(needed.contains(&Feature::CustomPageSizes), "{needed:?}");
        assert_eq!(needed.len(), 2, "{needed:?}");
        let enabled: FeatureSet = [Feature::TailCall].into_iter().collect();
        assert!(!required_by(&wasm, &enabled).contains(&Feature::TailCall));
    }
}
