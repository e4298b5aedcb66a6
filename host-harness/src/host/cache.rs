//! The compiled-module cache: compiling a policy with Cranelift takes far longer than running it, so the
//! compiled code is kept on disk and the next run of the same module on the same host skips compilation.
//!
//! An entry is keyed by the sha256 of the module, the wasmtime version and the engine's compilation settings,
//! so a changed module, a wasmtime upgrade or a different configuration never reads a stale entry. Entries are
//! written to a temporary file and renamed into place, so readers never see half an entry; each carries the
//! sha256 of its contents, so a truncated or corrupted entry is detected, recompiled and replaced rather than
//! loaded. Any cache failure only costs a compilation: it is never an error.
//!
//! Trust: wasmtime loads compiled code without re-validating it (see the safety notes of
//! `Module::deserialize`), so the cache directory must be as trusted as the harness binary itself. It lives in
//! the user's own cache directory, created private to the user; in an environment where that directory could
//! be written by someone else, run with `--no-cache`.

use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// Where a policy's compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleOrigin {
    /// Loaded from the compiled-module cache: no compilation.
    Cache,
    /// Compiled now, and stored in the cache for the next run.
    CompiledAndCached,
    /// Compiled now; the cache was off (`--no-cache`) or could not be written.
    Compiled,
}

/// Marks the entry format; bump it if the layout changes.
const ENTRY_MAGIC: &[u8; 8] = b"hhcwasm1";
/// The wasmtime major version this crate is built against. The engine hash below already covers wasmtime's
/// exact version (through its module-version setting); naming it here keeps the key self-explanatory.
const WASMTIME_MAJOR: &str = "wasmtime-48";

/// The default cache directory: `$XDG_CACHE_HOME/host-harness/modules` (or the platform's equivalent, such
/// as `~/.cache` on Linux when `XDG_CACHE_HOME` is unset).
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("host-harness").join("modules"))
}

/// Where policies pulled from registries are kept, beside the compiled modules: `…/host-harness/policies`.
pub fn default_policy_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("host-harness").join("policies"))
}

/// Compiles `wasm`, or loads its compiled code from `cache_dir` when an intact entry is there.
pub(crate) fn load_module(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
    verbose: bool,
) -> anyhow::Result<(Module, ModuleOrigin)> {
    let Some(cache_dir) = cache_dir else {
        return Ok((compile(engine, wasm)?, ModuleOrigin::Compiled));
    };
    let entry = cache_dir.join(format!("{}.cwasm", cache_key(engine, wasm)));

    match read_entry(engine, &entry) {
        Ok(Some(module)) => return Ok((module, ModuleOrigin::Cache)),
        Ok(None) => {}
        Err(problem) => {
            if verbose {
                eprintln!(
                    "compiled-module cache: ignoring {}: {problem:#}",
                    entry.display()
                );
            }
        }
    }

    let module = compile(engine, wasm)?;
    match write_entry(&module, cache_dir, &entry) {
        Ok(()) => Ok((module, ModuleOrigin::CompiledAndCached)),
        Err(problem) => {
            if verbose {
                eprintln!(
                    "compiled-module cache: could not store {}: {problem:#}",
                    entry.display()
                );
            }
            Ok((module, ModuleOrigin::Compiled))
        }
    }
}

fn compile(engine: &Engine, wasm: &[u8]) -> anyhow::Result<Module> {
    Module::from_binary(engine, wasm)
        .map_err(anyhow::Error::from)
        .context("the policy is not a valid WebAssembly module")
}

/// The entry's name: sha256 over the module's own sha256, the wasmtime version and the engine's
/// compatibility hash (target, Cranelift flags, tunables, enabled wasm features, wasmtime version).
pub(crate) fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    let mut key = Sha256::new();
    key.update(b"host-harness compiled module\0");
    key.update(Sha256::digest(wasm));
    key.update(WASMTIME_MAJOR.as_bytes());
    engine
        .precompile_compatibility_hash()
        .hash(&mut Sha256Hasher(&mut key));
    hex(&key.finalize())
}

/// Lets a `Hash` value be fed to sha256, so the key is stable across runs (std's `DefaultHasher` is not
/// guaranteed to be).
struct Sha256Hasher<'a>(&'a mut Sha256);

impl Hasher for Sha256Hasher<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        unreachable!("only used to feed bytes into sha256")
    }
}

/// `Ok(None)`: no entry. `Err`: an entry that cannot be used (corrupt, from another wasmtime…).
fn read_entry(engine: &Engine, entry: &Path) -> anyhow::Result<Option<Module>> {
    let bytes = match std::fs::read(entry) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).context("reading the entry"),
    };
    let header_len = ENTRY_MAGIC.len() + 32;
    anyhow::ensure!(
        bytes.len() > header_len && bytes.starts_with(ENTRY_MAGIC),
        "not a cache entry (or truncated)"
    );
    let (checksum, compiled) = bytes[ENTRY_MAGIC.len()..].split_at(32);
    anyhow::ensure!(
        Sha256::digest(compiled).as_slice() == checksum,
        "the entry's checksum does not match (corrupted)"
    );
    // SAFETY: `compiled` is byte for byte what `Module::serialize` produced when this host stored the entry:
    // the checksum just verified rules out truncation and corruption, and the directory is private to the user
    // (see the module docs for the trust this assumes). wasmtime itself rejects, safely, entries written by a
    // different wasmtime version or configuration. `deserialize` copies the bytes, so later changes to the file
    // cannot affect the loaded module (unlike `deserialize_file`, which maps it).
    let module = unsafe { Module::deserialize(engine, compiled) }
        .map_err(anyhow::Error::from)
        .context("wasmtime refused the compiled code")?;
    Ok(Some(module))
}

fn write_entry(module: &Module, cache_dir: &Path, entry: &Path) -> anyhow::Result<()> {
    let compiled = module
        .serialize()
        .map_err(anyhow::Error::from)
        .context("serializing the compiled module")?;
    create_private_dir(cache_dir)?;
    let mut file =
        tempfile::NamedTempFile::new_in(cache_dir).context("creating a temporary file")?;
    file.write_all(ENTRY_MAGIC)?;
    file.write_all(&Sha256::digest(&compiled))?;
    file.write_all(&compiled)?;
    file.flush()?;
    // Rename into place: a concurrent reader sees the old entry, none, or the whole new one.
    file.persist(entry)
        .context("renaming the entry into place")?;
    Ok(())
}

pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::super::engine::MemoryReset;
    use super::*;

    const MODULE: &str = r#"(module (func (export "answer") (result i32) i32.const 42))"#;

    fn engine() -> Engine {
        super::super::engine::build_engine(false, true, MemoryReset::WrittenPages).unwrap()
    }

    fn wasm() -> Vec<u8> {
        wat::parse_str(MODULE).unwrap()
    }

    fn only_entry(dir: &Path) -> PathBuf {
        let entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries.into_iter().next().unwrap()
    }

    fn answer(engine: &Engine, module: &Module) -> i32 {
        let mut store = wasmtime::Store::new(engine, ());
        store.set_epoch_deadline(1_000_000);
        let instance = wasmtime::Instance::new(&mut store, module, &[]).unwrap();
        instance
            .get_typed_func::<(), i32>(&mut store, "answer")
            .unwrap()
            .call(&mut store, ())
            .unwrap()
    }

    #[test]
    fn the_second_load_comes_from_the_cache_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let (first, origin) = load_module(&engine, &wasm(), Some(dir.path()), false).unwrap();
        assert_eq!(origin, ModuleOrigin::CompiledAndCached);
        assert_eq!(answer(&engine, &first), 42);
        let (second, origin) = load_module(&engine, &wasm(), Some(dir.path()), false).unwrap();
        assert_eq!(origin, ModuleOrigin::Cache);
        assert_eq!(answer(&engine, &second), 42);
        assert!(
            only_entry(dir.path())
                .extension()
                .is_some_and(|e| e == "cwasm")
        );
    }

    #[test]
    fn corrupt_truncated_and_foreign_entries_are_recompiled_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        load_module(&engine, &wasm(), Some(dir.path()), false).unwrap();
        let entry = only_entry(dir.path());
        let good = std::fs::read(&entry).unwrap();

        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        let truncated = good[..good.len() / 2].to_vec();
        // A well-formed entry (checksum matches) whose contents wasmtime refuses.
        let mut foreign = ENTRY_MAGIC.to_vec();
        foreign.extend_from_slice(&Sha256::digest(b"not compiled code"));
        foreign.extend_from_slice(b"not compiled code");

        for bad in [flipped, truncated, foreign, Vec::new()] {
            std::fs::write(&entry, &bad).unwrap();
            let (module, origin) = load_module(&engine, &wasm(), Some(dir.path()), false).unwrap();
            assert_eq!(origin, ModuleOrigin::CompiledAndCached);
            assert_eq!(answer(&engine, &module), 42);
            assert_eq!(
                std::fs::read(&entry).unwrap(),
                good,
                "the bad entry was replaced"
            );
        }
    }

    #[test]
    fn an_unwritable_cache_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file-not-a-directory");
        std::fs::write(&blocker, b"").unwrap();
        let engine = engine();
        let (module, origin) =
            load_module(&engine, &wasm(), Some(&blocker.join("modules")), false).unwrap();
        assert_eq!(origin, ModuleOrigin::Compiled);
        assert_eq!(answer(&engine, &module), 42);
    }

    #[test]
    fn keys_differ_by_module_and_by_engine_configuration() {
        let engine = engine();
        let other_module =
            wat::parse_str(r#"(module (func (export "answer") (result i32) i32.const 7))"#)
                .unwrap();
        assert_ne!(
            cache_key(&engine, &wasm()),
            cache_key(&engine, &other_module)
        );
        assert_eq!(
            cache_key(&engine, &wasm()),
            cache_key(
                // The reset is a runtime choice: the same compiled code serves either.
                &super::super::engine::build_engine(false, true, MemoryReset::Zero).unwrap(),
                &wasm()
            )
        );
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(false);
        let unlike = Engine::new(&config).unwrap();
        assert_ne!(cache_key(&engine, &wasm()), cache_key(&unlike, &wasm()));
    }

    #[test]
    fn invalid_modules_fail_with_a_clear_error() {
        let error = load_module(&engine(), b"\0asm\x01\0\0\0garbage", None, false).unwrap_err();
        assert!(
            format!("{error:#}").contains("not a valid WebAssembly module"),
            "{error:#}"
        );
    }
}
