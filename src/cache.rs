//! Compiled-code caches: the module cache (one compilation per module however
//! many tests share it, and a persistent, size-bounded on-disk cache keyed by
//! the module's content and the engine's compatibility hash), and an in-memory
//! Cranelift incremental cache that shares identical functions between modules
//! compiled in one process.
//!
//! An entry on disk is `BLAKE3(artifact) ‖ artifact`, written atomically (temp
//! file + rename). An entry that is truncated, corrupt, or from another engine
//! configuration is recompiled and overwritten, never a failure.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

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
    /// Loads answered by another test's compilation (in flight or kept in memory).
    pub shared: AtomicUsize,
    /// Entries removed to keep the cache under its size.
    pub evicted: AtomicUsize,
}

/// The default most bytes the on-disk cache keeps: 2 GiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 2 << 30;
/// How many compiled modules stay in memory for other tests of the run.
const KEPT_IN_MEMORY: usize = 32;

/// A compilation of one module: done once, shared by every test that needs it.
#[derive(Default)]
struct Flight {
    result: Mutex<Option<Result<Arc<dyn Any + Send + Sync>, String>>>,
    done: Condvar,
}

impl Flight {
    fn wait(&self) -> Result<Arc<dyn Any + Send + Sync>, String> {
        let mut slot = lock(&self.result);
        loop {
            if let Some(r) = slot.as_ref() {
                return r.clone();
            }
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn finish(&self, result: Result<Arc<dyn Any + Send + Sync>, String>) {
        *lock(&self.result) = Some(result);
        self.done.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The compiled-module cache: one compilation per module and engine however
/// many tests need it at once (later ones wait for the first), the last
/// [`KEPT_IN_MEMORY`] kept in memory, and, with a directory, a persistent
/// on-disk cache bounded to `max_bytes` (least recently used entries evicted).
///
/// The on-disk cache is trusted like the wasi-conform binary itself: an entry's
/// checksum proves it is intact, not who wrote it, and loading an entry runs
/// its machine code. Keep the directory private to the user.
pub struct ModuleCache {
    dir: Option<PathBuf>,
    max_bytes: u64,
    /// Bytes on disk, once measured.
    size: Mutex<Option<u64>>,
    /// Compilations in flight or kept, most recently used last.
    flights: Mutex<Vec<([u8; 32], Arc<Flight>)>>,
    pub stats: CacheStats,
}

impl std::fmt::Debug for ModuleCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleCache")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

impl ModuleCache {
    /// A cache persisted in `dir` (none: memory only) of at most `max_bytes`.
    pub fn new(dir: Option<PathBuf>, max_bytes: u64) -> ModuleCache {
        ModuleCache {
            dir,
            max_bytes,
            size: Mutex::new(None),
            flights: Mutex::new(Vec::new()),
            stats: CacheStats::default(),
        }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A module's key for this engine.
    fn key<A: Artifact>(engine: &Engine, wasm: &[u8]) -> [u8; 32] {
        let mut h = KeyHasher(blake3::Hasher::new());
        A::KIND.hash(&mut h);
        engine.precompile_compatibility_hash().hash(&mut h);
        env!("CARGO_PKG_VERSION").hash(&mut h);
        h.0.update(wasm);
        *h.0.finalize().as_bytes()
    }

    /// The file of a module's entry.
    fn entry(&self, key: &[u8; 32]) -> Option<PathBuf> {
        let hex = blake3::Hash::from_bytes(*key).to_hex();
        Some(
            self.dir
                .as_ref()?
                .join(&hex[..2])
                .join(format!("{}.cwasm", &hex[2..])),
        )
    }

    /// The compiled module: shared with the test compiling it right now or kept
    /// in memory, else from the on-disk cache when a valid entry exists, else
    /// compiled (and stored; a failure to store is ignored: the cache is an aid).
    pub fn load_or_compile<A>(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<A>
    where
        A: Artifact + Clone + Send + Sync + 'static,
    {
        self.load_or_compile_with(engine, wasm, A::compile)
    }

    /// [`ModuleCache::load_or_compile`], compiling with `compile` on a miss
    /// (the compile worker, for a module too costly to compile in-process).
    pub fn load_or_compile_with<A>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        compile: impl FnOnce(&Engine, &[u8]) -> wasmtime::Result<A>,
    ) -> wasmtime::Result<A>
    where
        A: Artifact + Clone + Send + Sync + 'static,
    {
        let key = Self::key::<A>(engine, wasm);
        let (flight, first) = {
            let mut flights = lock(&self.flights);
            match flights.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    let entry = flights.remove(i);
                    let flight = Arc::clone(&entry.1);
                    flights.push(entry);
                    (flight, false)
                }
                None => {
                    let flight = Arc::new(Flight::default());
                    flights.push((key, Arc::clone(&flight)));
                    if flights.len() > KEPT_IN_MEMORY {
                        flights.remove(0);
                    }
                    (flight, true)
                }
            }
        };
        let result = if first {
            let made = self.load_or_compile_once::<A>(engine, wasm, &key, compile);
            let shared = made
                .as_ref()
                .map(|a| Arc::new(a.clone()) as Arc<dyn Any + Send + Sync>)
                .map_err(|e| format!("{e:#}"));
            flight.finish(shared);
            return made;
        } else {
            self.stats.shared.fetch_add(1, Ordering::Relaxed);
            flight.wait()
        };
        match result {
            Ok(any) => any
                .downcast_ref::<A>()
                .cloned()
                .ok_or_else(|| wasmtime::format_err!("a cache key was reused for another kind")),
            Err(message) => Err(wasmtime::format_err!("{message}")),
        }
    }

    /// From disk, or compiled and stored.
    fn load_or_compile_once<A: Artifact>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        key: &[u8; 32],
        compile: impl FnOnce(&Engine, &[u8]) -> wasmtime::Result<A>,
    ) -> wasmtime::Result<A> {
        let path = self.entry(key);
        if let Some(path) = &path
            && let Ok(data) = std::fs::read(path)
        {
            if let Some(module) = verified(engine, &data) {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                touch(path);
                return Ok(module);
            }
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let module = compile(engine, wasm)?;
        if let Some(path) = &path
            && let Ok(artifact) = module.serialize()
        {
            self.store_bounded(path, &artifact);
        }
        Ok(module)
    }

    /// Stores an entry unless it alone is too large, then evicts the least
    /// recently used entries while the cache is over its size.
    fn store_bounded(&self, path: &Path, artifact: &[u8]) {
        let len = artifact.len() as u64 + 32;
        if len > self.max_bytes / 4 || store(path, artifact).is_err() {
            return;
        }
        let mut size = lock(&self.size);
        let dir = self
            .dir
            .as_ref()
            .expect("entries exist only with a directory");
        let now = match *size {
            Some(s) => s + len,
            None => entries(dir).iter().map(|e| e.1).sum(),
        };
        *size = Some(now);
        if now > self.max_bytes {
            let freed = evict(dir, now - self.max_bytes * 9 / 10, path);
            self.stats.evicted.fetch_add(freed.0, Ordering::Relaxed);
            *size = Some(now.saturating_sub(freed.1));
        }
    }
}

/// Marks an entry as just used (its modification time orders eviction).
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().append(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Every entry of a cache directory: path, size, last use.
fn entries(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let Ok(shards) = std::fs::read_dir(dir) else {
        return out;
    };
    for shard in shards.filter_map(Result::ok) {
        let Ok(files) = std::fs::read_dir(shard.path()) else {
            continue;
        };
        for f in files.filter_map(Result::ok) {
            if let Ok(m) = f.metadata()
                && m.is_file()
            {
                let used = m.modified().unwrap_or(std::time::UNIX_EPOCH);
                out.push((f.path(), m.len(), used));
            }
        }
    }
    out
}

/// Removes the least recently used entries (never `keep`) until `need` bytes
/// are freed; returns how many entries and bytes went.
fn evict(dir: &Path, need: u64, keep: &Path) -> (usize, u64) {
    let mut all = entries(dir);
    all.sort_by_key(|e| e.2);
    let (mut count, mut freed) = (0, 0);
    for (path, len, _) in all {
        if freed >= need {
            break;
        }
        if path != keep && std::fs::remove_file(&path).is_ok() {
            count += 1;
            freed += len;
        }
    }
    (count, freed)
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
        // Each process has its own cache in memory; the disk is shared.
        let fresh = || ModuleCache::new(Some(dir.path().to_path_buf()), DEFAULT_CACHE_MAX_BYTES);
        let engine = engine();
        let wasm =
            wat::parse_str("(module (func (export \"f\") (result i32) i32.const 7))").unwrap();
        let first = fresh();
        first.load_or_compile::<Module>(&engine, &wasm).unwrap();
        first.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(first.stats.misses.load(Ordering::Relaxed), 1);
        assert_eq!(first.stats.shared.load(Ordering::Relaxed), 1);
        let second = fresh();
        second.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(second.stats.hits.load(Ordering::Relaxed), 1);

        // Corrupt the entry: it is rejected, recompiled and rewritten.
        let path = first
            .entry(&ModuleCache::key::<Module>(&engine, &wasm))
            .unwrap();
        let mut data = std::fs::read(&path).unwrap();
        let last = data.len() - 1;
        data[last] ^= 0xff;
        std::fs::write(&path, &data).unwrap();
        let third = fresh();
        third.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(third.stats.rejected.load(Ordering::Relaxed), 1);
        let fourth = fresh();
        fourth.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(fourth.stats.hits.load(Ordering::Relaxed), 1);

        // A truncated entry too.
        std::fs::write(&path, b"short").unwrap();
        let fifth = fresh();
        fifth.load_or_compile::<Module>(&engine, &wasm).unwrap();
        assert_eq!(fifth.stats.rejected.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn keys_depend_on_engine_settings() {
        let wasm = wat::parse_str("(module)").unwrap();
        let mut fuel = wasmtime::Config::new();
        fuel.consume_fuel(true);
        let other = Engine::new(&fuel).unwrap();
        let key = |e: &Engine| ModuleCache::key::<Module>(e, &wasm);
        assert_ne!(key(&engine()), key(&other));
        assert_eq!(key(&engine()), key(&engine()));
        assert_ne!(
            key(&engine()),
            ModuleCache::key::<Component>(&engine(), &wasm)
        );
    }

    #[test]
    fn concurrent_loads_compile_once() {
        let cache = ModuleCache::new(None, DEFAULT_CACHE_MAX_BYTES);
        let engine = engine();
        let wasm = wat::parse_str("(module (func (export \"f\")))").unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| cache.load_or_compile::<Module>(&engine, &wasm).unwrap());
            }
        });
        assert_eq!(cache.stats.misses.load(Ordering::Relaxed), 1);
        assert_eq!(cache.stats.shared.load(Ordering::Relaxed), 7);
        // A module that does not compile fails every waiter alike.
        let bad = b"\0asm\x01\0\0\0\x01".to_vec();
        assert!(cache.load_or_compile::<Module>(&engine, &bad).is_err());
        assert!(cache.load_or_compile::<Module>(&engine, &bad).is_err());
    }

    #[test]
    fn the_disk_cache_stays_under_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let module = |i: usize| {
            wat::parse_str(format!(
                "(module (func (export \"f{i}\") (result i32) i32.const {i}))"
            ))
            .unwrap()
        };
        // Measure one entry, then allow room for about three.
        let probe = ModuleCache::new(Some(dir.path().to_path_buf()), DEFAULT_CACHE_MAX_BYTES);
        probe
            .load_or_compile::<Module>(&engine, &module(0))
            .unwrap();
        let one: u64 = entries(dir.path()).iter().map(|e| e.1).sum();
        let cache = ModuleCache::new(Some(dir.path().to_path_buf()), one * 4);
        for i in 1..20 {
            cache
                .load_or_compile::<Module>(&engine, &module(i))
                .unwrap();
        }
        let total: u64 = entries(dir.path()).iter().map(|e| e.1).sum();
        assert!(total <= one * 4, "{total} > {}", one * 4);
        assert!(cache.stats.evicted.load(Ordering::Relaxed) > 0);
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
