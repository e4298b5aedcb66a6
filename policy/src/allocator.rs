//! policy.wasm's heap: Talc, starting in an arena inside the module's initial memory.
//!
//! Every evaluation runs in a fresh instance (policy-server and host-harness both instantiate per request). Rust's
//! default wasm allocator, dlmalloc, gets all its memory with `memory.grow`, so every fresh instance grew its memory
//! on its first allocation, and the host then had to change page protections twice per evaluation (grow, then shrink
//! back when the slot is reused): two `mprotect` calls with TLB shootdowns on every other core, measured at ~10 % of
//! `host-harness check`'s CPU. Here the first heap is a zeroed static array (part of the initial memory, free to
//! declare: zeroed memory is not stored in the module), so an ordinary evaluation never grows memory; a request too
//! big for it grows memory as before. Measured with `host-harness bench` on a 3-container Deployment: a fresh
//! instance went from 8.2 to 3.4 µs (p50). (dlmalloc stays linked, ~5 KiB: std allocates its thread handle with
//! `System` directly, and once_cell, used by the SDK, can ask for it.)

use core::alloc::Layout;
use core::arch::wasm32::memory_grow;
use core::mem::MaybeUninit;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

/// Heap available without growing memory: a 3-container Deployment's evaluation needs under 32 KiB; a request too
/// big for the arena grows memory, as before. Kept small because the host resets a fresh instance's whole initial
/// memory after every evaluation, and every page of it that was ever touched stays resident in the host's pool slot
/// and is zeroed on every later reset: after one 300-container request, the 3-container Deployment's evaluation
/// cost 23.6 µs with a 256 KiB arena, 21.7 with 128, 20.7 with 64, 20.1 with 32 (19.9 µs before that request,
/// whatever the arena; `host-harness check` on 10 000 documents unchanged). Memory pages past the initial ones
/// (the grown heap) are outside that reset. See also build.rs, on the stack.
const ARENA_BYTES: usize = 64 * 1024;

const WASM_PAGE_BYTES: usize = 64 * 1024;

static mut ARENA: [MaybeUninit<u8>; ARENA_BYTES] = [MaybeUninit::uninit(); ARENA_BYTES];

#[global_allocator]
static ALLOCATOR: TalcSyncCell<ArenaThenGrow, WasmBinning> =
    TalcSyncCell::new_wasm(ArenaThenGrow {
        arena_claimed: false,
    });

/// Talc's memory source: [`ARENA`] first, then `memory.grow` as needed, each grown block a heap of its own.
#[derive(Debug)]
struct ArenaThenGrow {
    arena_claimed: bool,
}

// SAFETY: `acquire` never allocates, and hands Talc only memory nothing else uses: the arena (referenced nowhere
// else) and pages `memory.grow` has just added.
unsafe impl Source for ArenaThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.arena_claimed {
            talc.source.arena_claimed = true;
            // SAFETY: the arena is claimed once, and used by nothing but the allocator.
            if unsafe { talc.claim((&raw mut ARENA).cast(), ARENA_BYTES) }.is_some() {
                return Ok(());
            }
        }
        // Room for the allocation, its alignment and Talc's bookkeeping around a new heap (a few words).
        let needed = layout
            .size()
            .checked_add(layout.align())
            .and_then(|bytes| bytes.checked_add(256))
            .ok_or(())?;
        let pages = needed.div_ceil(WASM_PAGE_BYTES);
        let previous_pages = memory_grow(0, pages);
        if previous_pages == usize::MAX {
            return Err(());
        }
        let base = (previous_pages * WASM_PAGE_BYTES) as *mut u8;
        // SAFETY: the pages were just added to memory; nothing else knows of them.
        match unsafe { talc.claim(base, pages * WASM_PAGE_BYTES) } {
            Some(_) => Ok(()),
            None => Err(()),
        }
    }
}
