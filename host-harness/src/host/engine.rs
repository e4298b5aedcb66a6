//! The wasmtime engine: how modules are compiled and instances allocated, and the clock behind deadlines.

use std::time::Duration;

use anyhow::Context as _;
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, WasmBacktraceDetails,
};

/// How often the engine's epoch advances. A deadline is checked at this granularity, so an evaluation is
/// interrupted between `timeout` and `timeout + EPOCH_TICK` after it starts.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How much of a pool slot's linear memory (and table) is reset in place when its instance is dropped, rather than
/// handed back to the kernel, so the next instance in the slot takes no page faults on it (page faults were most of a
/// fresh instance's cost before). It covers a Rust policy's initial
/// memory (Rust's default 1 MiB stack, its data, a heap) with room, and bounds what each used slot keeps resident.
const KEEP_RESIDENT_BYTES: usize = 4 * 1024 * 1024;

/// The largest initial memory [`MemoryReset::Zero`] is chosen for. Zeroing costs time in proportion to the memory, a
/// `PAGEMAP_SCAN` a flat cost whatever the size; `host-harness bench` put the crossing between 192 and 384 KiB on the
/// development machine (policy.wasm's initial memory, shifted).
const ZERO_RESET_MAX_BYTES: u64 = 192 * 1024;

/// How a pool slot's memory is put back to the module's initial image after each instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoryReset {
    /// Zero (and copy the data back into) all of the memory the instance had, up to [`KEEP_RESIDENT_BYTES`]:
    /// cheapest for a small memory, such as require-digest's.
    Zero,
    /// Ask the kernel which pages the instance wrote (`PAGEMAP_SCAN`, Linux 6.7 and later) and reset only those:
    /// a flat cost, cheaper for a big memory, such as a Rust policy's with its default 1 MiB stack.
    WrittenPages,
}

impl MemoryReset {
    /// The cheaper reset for a module (a WebAssembly binary), from the size of the memory it starts with. A module
    /// that imports its memory, defines none, or cannot be read gets [`MemoryReset::WrittenPages`], which is never
    /// much worse.
    pub(crate) fn for_module(module: &[u8]) -> MemoryReset {
        match initial_memory_bytes(module) {
            Some(bytes) if bytes <= ZERO_RESET_MAX_BYTES => MemoryReset::Zero,
            _ => MemoryReset::WrittenPages,
        }
    }
}

/// The size of the first memory a module defines, at instantiation. The memory section comes before the code, so
/// reading stops there.
fn initial_memory_bytes(module: &[u8]) -> Option<u64> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.ok()? {
            wasmparser::Payload::MemorySection(memories) => {
                let memory = memories.into_iter().next()?.ok()?;
                let page_bytes = 1u64 << memory.page_size_log2.unwrap_or(16);
                return memory.initial.checked_mul(page_bytes);
            }
            wasmparser::Payload::CodeSectionStart { .. } => return None,
            _ => {}
        }
    }
    None
}

/// The most linear memory a wasm32 module can address.
pub(crate) const WASM32_MAX_MEMORY_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Builds the engine every evaluation of one policy runs on.
///
/// Instances come from wasmtime's pooling allocator: memory slots are reserved once, and a new instance
/// reuses a slot with copy-on-write of the module's data, so instantiating takes microseconds. The pool
/// holds [`pool_slots`] instances, enough for one evaluation per core and then some. Should the pool not be
/// available (its virtual-memory reservation refused, under a `ulimit -v` for example) the engine falls back
/// to allocating on demand, which is slower to instantiate but otherwise identical.
///
/// With `deadlines`, compiled code checks the epoch (see [`base_config`]); `reset` says how pool slots are reset; with
/// `verbose`, says so on stderr when the pool could not be used.
pub(crate) fn build_engine(
    verbose: bool,
    deadlines: bool,
    reset: MemoryReset,
) -> anyhow::Result<Engine> {
    let slots = pool_slots();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(slots)
        .total_memories(slots)
        .total_tables(slots)
        .total_stacks(slots)
        .total_component_instances(slots)
        // A slot fits any wasm32 memory (its address range is reserved anyway); the configured cap is
        // enforced per store by `MemoryCap`, which reports it as such, rather than by the pool, which would
        // refuse an oversized module as if it were invalid.
        .max_memory_size(WASM32_MAX_MEMORY_BYTES as usize)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(match reset {
            MemoryReset::Zero => wasmtime::Enabled::No,
            MemoryReset::WrittenPages => wasmtime::Enabled::Auto,
        });
    let mut pooled = base_config(deadlines);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(pool_refused) => {
            if verbose {
                eprintln!(
                    "instance pool unavailable ({pool_refused}); allocating instances on demand"
                );
            }
            Engine::new(&base_config(deadlines))
                .map_err(anyhow::Error::from)
                .context("creating the WebAssembly engine")
        }
    }
}

/// The compilation settings. These feed the compiled-module cache key (through
/// `Engine::precompile_compatibility_hash`), so everything that affects compiled code is set here explicitly.
fn base_config(deadlines: bool) -> Config {
    let mut config = Config::new();
    // Deadlines: compiled code checks the engine's epoch at function entries and loop back-edges. Those checks cost
    // the guest a noticeable share of its time, so code compiled for evaluations without a deadline
    // (`--no-timeout`) has none.
    config.epoch_interruption(deadlines);
    // Trap messages name the wasm functions involved; reading DWARF for file:line is not worth its cost and
    // would make the compiled code depend on the WASMTIME_BACKTRACE_DETAILS environment variable.
    config.wasm_backtrace_details(WasmBacktraceDetails::Disable);
    config
}

/// How many instances the pool holds: evaluations run at most one per core at a time (see `check`), with room
/// for a caller's own threads on top.
pub(crate) fn pool_slots() -> u32 {
    let cores = std::thread::available_parallelism().map_or(4, usize::from) as u32;
    (cores * 4).clamp(16, 1024)
}

/// Advances `engine`'s epoch every [`EPOCH_TICK`] on a thread of its own, for as long as the engine lives:
/// the thread holds only a weak reference and ends once the last user of the engine is gone.
pub(crate) fn start_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("policy-deadline-ticker".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .context("starting the evaluation-deadline thread")?;
    Ok(())
}

/// The epoch deadline, in ticks, for `timeout`: rounded up, plus one because the current tick may be almost
/// over when the evaluation starts.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    let ticks = timeout.as_nanos().div_ceil(EPOCH_TICK.as_nanos());
    u64::try_from(ticks).unwrap_or(u64::MAX / 2) + 1
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn deadlines_round_up_and_never_undershoot() {
        assert_eq!(deadline_ticks(Duration::from_secs(2)), 201);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 2);
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
        assert_eq!(deadline_ticks(Duration::from_millis(15)), 3);
    }

    #[rstest]
    #[case::policy_sized_two_pages("(module (memory 2))", MemoryReset::Zero)]
    #[case::at_the_limit("(module (memory 3))", MemoryReset::Zero)]
    #[case::rust_default_stack("(module (memory 17))", MemoryReset::WrittenPages)]
    #[case::imported_memory(
        r#"(module (import "env" "memory" (memory 1)))"#,
        MemoryReset::WrittenPages
    )]
    #[case::no_memory("(module)", MemoryReset::WrittenPages)]
    fn the_reset_follows_the_initial_memory(#[case] wat: &str, #[case] expected: MemoryReset) {
        let module = wat::parse_str(wat).unwrap();
        assert_eq!(MemoryReset::for_module(&module), expected);
    }

    #[test]
    fn an_unreadable_module_gets_the_reset_that_is_never_much_worse() {
        assert_eq!(
            MemoryReset::for_module(b"\0asm\x01\0\0\0garbage"),
            MemoryReset::WrittenPages
        );
    }

    #[test]
    fn pool_slots_are_bounded() {
        let slots = pool_slots();
        assert!((16..=1024).contains(&slots));
    }
}
