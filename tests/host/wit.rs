//! `src/coverage/wasi-functions.txt` against the WIT it comes from.

use crate::common::{self, TestResult};
use wasi_conform::coverage::wit::{self, SourceError};

const TABLE: &str = "src/coverage/wasi-functions.txt";

/// The committed table is what the WIT of wasmtime-wasi 48 and
/// wasmtime-wasi-http 48 says (`WASI_CONFORM_BLESS=1` rewrites it).
pub fn the_table_matches_the_wit() -> TestResult {
    let table = match wit::table_from_sources() {
        Ok(table) => table,
        Err(SourceError::Missing(why)) => return common::ignored(why),
        Err(SourceError::Read(why)) => panic!("cannot read the WIT: {why}"),
    };
    if std::env::var("WASI_CONFORM_BLESS").is_ok_and(|v| v == "1") {
        wasi_conform::harness::bless_allowed().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(common::root().join(TABLE), &table).unwrap();
        return Ok(common::Completion::Completed);
    }
    let committed: Vec<&str> = wit::committed_table().lines().collect();
    let fresh: Vec<&str> = table.lines().collect();
    let gone: Vec<&&str> = committed.iter().filter(|l| !fresh.contains(l)).collect();
    let new: Vec<&&str> = fresh.iter().filter(|l| !committed.contains(l)).collect();
    assert!(
        committed == fresh,
        "{TABLE} is out of date (rerun with WASI_CONFORM_BLESS=1): \
         not in the WIT: {gone:?}; missing: {new:?}"
    );
    Ok(common::Completion::Completed)
}
