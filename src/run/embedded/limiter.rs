//! The memory limit of a test: one budget for everything its store holds.
//!
//! wasmtime's own `StoreLimits` caps each memory and each table on its own, so
//! twelve memories (multi-memory), a component instantiating a core module
//! twelve times, or a hundred big tables each stay under the cap while together
//! they take gigabytes. [`GuestLimiter`] charges every linear memory and every
//! table of the store (all instances) to one budget, and bounds how many
//! instances, memories and tables a store may create.

use wasmtime::ResourceLimiter;

/// Bytes a table element is charged: a table holds references (a pointer each,
/// and wasmtime keeps lazily initialised funcref tables at this size too).
pub const TABLE_ELEMENT_BYTES: usize = 8;
/// The most instances one store may hold (a component is several core instances).
pub const MAX_INSTANCES: usize = 200;
/// The most linear memories one store may hold.
pub const MAX_MEMORIES: usize = 100;
/// The most tables one store may hold.
pub const MAX_TABLES: usize = 200;

/// One store's budget: the sum of its linear memories and tables.
#[derive(Debug, Clone)]
pub struct GuestLimiter {
    budget: usize,
    used: usize,
}

impl GuestLimiter {
    /// A budget of `memory_bytes` for all memories and tables together.
    pub fn new(memory_bytes: u64) -> GuestLimiter {
        GuestLimiter {
            budget: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
            used: 0,
        }
    }

    /// Grows the charge by `current → desired` if the budget allows.
    fn charge(&mut self, current: usize, desired: usize) -> bool {
        let more = desired.saturating_sub(current);
        match self.used.checked_add(more) {
            Some(total) if total <= self.budget => {
                self.used = total;
                true
            }
            _ => false,
        }
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Refused growth is `memory.grow` returning -1, as at any runtime limit.
        Ok(self.charge(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.charge(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        ))
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memories_and_tables_share_one_budget() {
        let mut l = GuestLimiter::new(1000);
        assert!(l.memory_growing(0, 600, None).unwrap());
        assert!(
            !l.memory_growing(0, 600, None).unwrap(),
            "a second memory counts too"
        );
        assert!(l.memory_growing(600, 800, None).unwrap());
        // 25 elements of 8 bytes: over what is left (200).
        assert!(!l.table_growing(0, 26, None).unwrap());
        assert!(l.table_growing(0, 25, None).unwrap());
        assert!(!l.memory_growing(800, 801, None).unwrap());
    }
}
