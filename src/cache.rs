//! Compiled-code caches: a persistent on-disk cache of compiled modules, keyed by
//! the module's content and the engine's compatibility hash, and an in-memory
//! Cranelift incremental cache that shares identical functions between modules
//! compiled in one process.
//!
//! An entry on disk is `BLAKE3(artifact) ‖ artifact`, written atomically (temp
//! file + rename). An entry that is truncated, corrupt, or from another engine
//! configuration is recompiled and overwritten, never a failure.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};

use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// The default cache directory: `$XDG_CACHE_HOME/wasi-conform`, else
/// `$HOME/.cache/wasi-conform`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("wasi-conform"))
}

/// Feeds `Hash` values into BLAKE3, so a key is stable across runs and builds.
/// (BLAKE3 rather than SHA-256: a warm run hashes every module, and the official
/// suites are 100 MB of wasm; BLAKE3 is several times faster.)
struct KeyHasher(blake3::Hasher);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Something compiled that the cache can store: a core module or a component.
pub trait Artifact: Sized {
    /// Tells the kinds apart in cache keys.
    const KIND: &'static str;
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self>;
    fn serialize(&self) -> wasmtime::Result<Vec<u8>>;
    /// # Safety
    /// `bytes` must be what [`Artifact::serialize`] produced.
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self>;
}

impl Artifact for Module {
    const KIND: &'static str = "module";
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self> {
        Module::from_binary(engine, wasm)
    }
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Module::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: forwarded from the caller.
        unsafe { Module::deserialize(engine, bytes) }
    }
}

impl Artifact for Component {
    const KIND: &'static str = "component";
    fn compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Self> {
        Component::from_binary(engine, wasm)
    }
    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        Component::serialize(self)
    }
    unsafe fn deserialize(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Self> {
        // SAFETY: forwarded from the caller.
        unsafe { Component::deserialize(engine, bytes) }
    }
}

/// Counts of what the cache did.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
    /// Entries found unusable (corrupt or stale) and recompiled.
    pub rejected: AtomicUsize,
}

/// The persistent module cache.
#[derive(Debug)]
pub struct ModuleCache {
    dir: PathBuf,
    pub stats: CacheStats,
}

impl ModuleCache {
    pub fn new(dir: PathBuf) -> ModuleCache {
        ModuleCache {
            dir,
            stats: CacheStats::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a module's entry for this engine.
    fn entry<A: Artifact>(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let mut h = KeyHasher(blake3::Hasher::new());
        A::KIND.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        h.0.update(wasm);
        let key = h.0.finalize().to_hex();
        self.dir
            .join(&key[..2])
            .join(format!("{}.cwasm", &key[2..]))
    }

    /// The compiled module: from the cache when a valid entry exists, else
    /// compiled and stored (a failure to store is ignored: the cache is an aid).
    pub fn load_or_compile<A: Artifact>(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<A> {
        let path = self.entry::<A>(engine, wasm);
        if let Ok(data) = std::fs::read(&path) {
            if let Some(module) = verified(engine, &data) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(module);
            }
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let module = A::compile(engine, wasm)?;
        if let Ok(artifact) = module.serialize() {
            let _ = store(&path, &artifact);
        }
        Ok(module)
    }
}

/// Deserializes an entry whose checksum matches; `None` for anything unusable.
fn verified<A: Artifact>(engine: &Engine, data: &[u8]) -> Option<A> {
    if data.len() <= 32 {
        return None;
    }
    let (digest, artifact) = data.split_at(32);
    if blake3::hash(artifact).as_bytes() != digest {
        return None;
    }
    // SAFETY: the bytes are exactly what `Module::serialize` produced for an
    // engine with the same compatibility hash (the checksum proves they are
    // intact); `deserialize` also checks the engine configuration itself.
    unsafe { A::deserialize(engine, artifact) }.ok()
}

fn store(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("entries live in a subdirectory");
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, blake3::hash(artifact).as_bytes())?;
    std::io::Write::write_all(&mut tmp, artifact)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Cranelift's incremental compilation cache, in memory for the process: the
/// official test binaries share most of their functions (the Rust standard
/// library), so later modules reuse earlier modules' compiled functions. Bounded:
/// past `max_bytes` of stored code, new entries are not kept.
#[derive(Debug)]
pub struct IncrementalCache {
    entries: RwLock<HashMap<Vec<u8>, Vec<u8>>>,
    bytes: Mutex<usize>,
    max_bytes: usize,
}

impl IncrementalCache {
    pub fn new(max_bytes: usize) -> IncrementalCache {
        IncrementalCache {
            entries: RwLock::new(HashMap::new()),
            bytes: Mutex::new(0),
            max_bytes,
        }
    }
}

impl wasmtime::CacheStore for IncrementalCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(key).map(|v| Cow::Owned(v.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let mut bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        if *bytes + value.len() + key.len() > self.max_bytes {
            return false;
        }
        *bytes += value.len() + key.len();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(key.to_vec(), value);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(&wasmtime::Config::new()).unwrap()
    }

    #[test]
    fn second_load_hits_and_damage_is_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path().to_path_buf());
        let engine = engine();
        let wasm =
            wat::parse_str("(module (func (export \"f\") (result i32) i32.const 7))").unwrap();
        cache.load_or_compile::<Module>(&engine, &wasm).unwrap();
        cache.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(cache.stats.misses.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats.hits.load(Ordering::Relaxed), 1);

        // Corrupt the entry: it is rejected, recompiled and rewritten.
        let path = cache.entry::<Module>(&engine, &wasm);
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, &data).unwrap();
        cache.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(cache.stats.rejected.load(Ordering::Relaxed), 1);
        cache.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(cache.stats.hits.load(Ordering::Relaxed), 2);

        // A truncated entry too.
        std::fs::write(&path, b"short").unwrap();
        cache.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(cache.stats.rejected.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn keys_depend_on_engine_settings() {
        let cache = ModuleCache::new(PathBuf::from("/nonexistent"));
        let wasm = wat::parse_str("(module)").unwrap();
        let mut fuel = wasmtime::Config::new();
        fuel.consume_fuel(true);
        let other = Engine::new(&fuel).unwrap();
        let key = |e: &Engine| cache.entry::<Module>(e, &wasm);
        assert_ne!(key(&engine()), key(&other));
        assert_eq!(key(&engine()), key(&engine()));
        assert_ne!(key(&engine()), cache.entry::<Component>(&engine(), &wasm));
    }

    #[test]
    fn incremental_cache_is_bounded() {
        use wasmtime::CacheStore;
        let c = IncrementalCache::new(10);
        assert!(c.insert(b"k", vec![0; 5]));
        assert_eq!(c.get(b"k").as_deref(), Some(&[0u8; 5][..]));
        assert!(!c.insert(b"k2", vec![0; 8]));
        assert!(c.get(b"k2").is_none());
    }
}
