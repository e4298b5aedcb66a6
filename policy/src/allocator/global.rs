//! The global allocator over the module's memory (see the parent module).

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32::memory_grow;
use core::cell::UnsafeCell;
#[cfg(not(feature = "js"))]
use core::mem::MaybeUninit;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::cell::TalcSyncCell;
use talc::source::Source;
use talc::wasm::WasmBinning;

use super::scratch::Scratch;

#[allow(
    dead_code,
    reason = "the stack's size is the linker's business (build.rs)"
)]
mod layout {
    include!("../../memory_layout.rs");
}

/// The calls' scratch region, a static sized for an ordinary request's call, its payload included.
/// Talc's first arena is the rest of the initial memory (`memory_layout.rs`). Heap past that grows
/// memory, which the host then also resets after the evaluation: a request that big costs that much more, the next
/// one nothing. (The browser build has no waPC entry to switch it on, and so no scratch region.)
#[cfg(not(feature = "js"))]
const SCRATCH_BYTES: usize = 32 * 1024;

/// The end of the initial memory: Talc's first arena runs from `__heap_base` to here.
const INITIAL_MEMORY_END: usize = layout::INITIAL_MEMORY_BYTES as usize;

const WASM_PAGE_BYTES: usize = 64 * 1024;

unsafe extern "C" {
    /// Where the linker put the end of the stack, the data and the statics: the first byte nothing uses.
    static __heap_base: u8;
}

#[cfg(not(feature = "js"))]
static mut SCRATCH_REGION: [MaybeUninit<u8>; SCRATCH_BYTES] =
    [MaybeUninit::uninit(); SCRATCH_BYTES];

#[global_allocator]
static ALLOCATOR: ScratchThenTalc = ScratchThenTalc {
    scratch: ScratchCell(UnsafeCell::new(Scratch::empty())),
    talc: TalcSyncCell::new_wasm(ArenaThenGrow {
        arena_claimed: false,
    }),
};

/// Switches the scratch region on (see the module documentation); once is enough, again changes nothing.
#[cfg(not(feature = "js"))]
pub fn start_scratch() {
    // SAFETY: one thread (wasm32 without atomics), and no allocation in progress: nothing else touches the cell.
    let scratch = unsafe { &mut *ALLOCATOR.scratch.0.get() };
    if scratch.contains((&raw const SCRATCH_REGION) as usize) {
        return;
    }
    *scratch = Scratch::new((&raw mut SCRATCH_REGION) as usize, SCRATCH_BYTES);
}

struct ScratchCell(UnsafeCell<Scratch>);

// SAFETY: policy.wasm is built without the atomics feature (see lib.rs): there is one thread.
unsafe impl Sync for ScratchCell {}

/// The global allocator: the scratch region when it has room, Talc otherwise. Each pointer goes back to the one that
/// handed it out, told apart by address.
struct ScratchThenTalc {
    scratch: ScratchCell,
    talc: TalcSyncCell<ArenaThenGrow, WasmBinning>,
}

impl ScratchThenTalc {
    fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        // SAFETY: one thread, and `f` never allocates: no other reference to the cell exists meanwhile.
        f(unsafe { &mut *self.scratch.0.get() })
    }
}

// SAFETY: the scratch region hands out disjoint, aligned ranges of memory nothing else uses (`Scratch`'s contract,
// property-tested), and only until they are freed; everything else is Talc's.
//
// Never inlined: inlined into every allocation site, the three made policy.wasm much bigger and no faster.
unsafe impl GlobalAlloc for ScratchThenTalc {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.with_scratch(|scratch| scratch.allocate(layout.size(), layout.align())) {
            Some(address) => address as *mut u8,
            // SAFETY: the caller's contract, passed on.
            None => unsafe { self.talc.alloc(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let address = ptr as usize;
        if !self.with_scratch(|scratch| scratch.contains(address)) {
            // SAFETY: not the scratch region's, so Talc's; the caller's contract, passed on.
            return unsafe { self.talc.dealloc(ptr, layout) };
        }
        self.with_scratch(|scratch| scratch.free(address, layout.size()));
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let address = ptr as usize;
        if !self.with_scratch(|scratch| scratch.contains(address)) {
            // SAFETY: Talc's allocation; the caller's contract, passed on.
            return unsafe { self.talc.realloc(ptr, layout, new_size) };
        }
        if self.with_scratch(|scratch| scratch.resize_in_place(address, layout.size(), new_size)) {
            return ptr;
        }
        // SAFETY: `realloc`'s contract makes `new_size` with `layout`'s alignment a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid, non-zero layout (new_size > 0 by `realloc`'s contract).
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both allocations are live and distinct, each at least this long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size)) };
            self.with_scratch(|scratch| scratch.free(address, layout.size()));
        }
        moved
    }
}

/// Talc's memory source: the initial memory past `__heap_base` first, then `memory.grow` as needed, each grown block a
/// heap of its own.
#[derive(Debug)]
struct ArenaThenGrow {
    arena_claimed: bool,
}

// SAFETY: `acquire` never allocates, and hands Talc only memory nothing else uses: the initial memory past
// `__heap_base` (nothing is placed there; dlmalloc, which std's `System` may still use, only takes pages it grows) and
// pages `memory.grow` has just added.
unsafe impl Source for ArenaThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.arena_claimed {
            talc.source.arena_claimed = true;
            let heap_base = (&raw const __heap_base) as usize;
            if let Some(arena_bytes) = INITIAL_MEMORY_END.checked_sub(heap_base) {
                // SAFETY: claimed once, and used by nothing but the allocator (see above).
                if unsafe { talc.claim(heap_base as *mut u8, arena_bytes) }.is_some() {
                    return Ok(());
                }
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
