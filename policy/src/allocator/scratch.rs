//! A bump region for the allocations of one waPC call.
//!
//! An evaluation makes a few dozen small allocations and frees every one of them before its call returns. Handing
//! them out by bumping a pointer is cheaper than any free-list allocator, whose allocate and deallocate showed in the
//! profile of a fresh instance's evaluation. Freed bytes are
//! reused when the last allocation is freed (then the region starts over) or when the most recent one is (then the
//! pointer steps back), so an instance a host keeps for many calls reuses the same region every call. An allocation
//! that found no room, or memory that outlives calls, is simply not here: the general allocator serves it, so the
//! region never grows and never runs out for good.
//!
//! Addresses are plain numbers, so this is ordinary arithmetic, unit-tested natively; `allocator` maps it onto
//! memory.

/// The region `start..end`, handing out `next..` and counting the allocations in it not yet freed.
#[derive(Debug)]
pub struct Scratch {
    start: usize,
    end: usize,
    next: usize,
    live: usize,
}

impl Scratch {
    /// A region that holds nothing and allocates nothing.
    pub const fn empty() -> Scratch {
        Scratch {
            start: 0,
            end: 0,
            next: 0,
            live: 0,
        }
    }

    /// The `len` bytes from `start`.
    #[cfg_attr(
        feature = "js",
        allow(dead_code, reason = "the browser build never starts its region")
    )]
    pub fn new(start: usize, len: usize) -> Scratch {
        let end = start.checked_add(len).expect("the region fits in memory");
        Scratch {
            start,
            end,
            next: start,
            live: 0,
        }
    }

    /// Whether `address` was handed out by this region (or could be).
    pub fn contains(&self, address: usize) -> bool {
        (self.start..self.end).contains(&address)
    }

    /// The address of `size` bytes aligned to `align` (a power of two), or `None` when there is no room. Zero-sized
    /// requests get `None` too: the general allocator knows what to do with them.
    pub fn allocate(&mut self, size: usize, align: usize) -> Option<usize> {
        debug_assert!(align.is_power_of_two());
        if size == 0 {
            return None;
        }
        let address = self.next.checked_add(align - 1)? & !(align - 1);
        let end = address.checked_add(size)?;
        if end > self.end {
            return None;
        }
        self.next = end;
        self.live += 1;
        Some(address)
    }

    /// Frees the `size` bytes at `address`, which this region handed out.
    pub fn free(&mut self, address: usize, size: usize) {
        debug_assert!(self.contains(address) && self.live > 0);
        self.live -= 1;
        if self.live == 0 {
            self.next = self.start;
        } else if address + size == self.next {
            self.next = address;
        }
    }

    /// Resizes the allocation of `old_size` bytes at `address` to `new_size` without moving it, if it can: always
    /// when it shrinks, and when it grows if it is the most recent allocation and there is room after it.
    pub fn resize_in_place(&mut self, address: usize, old_size: usize, new_size: usize) -> bool {
        debug_assert!(self.contains(address) && new_size > 0);
        let is_last = address + old_size == self.next;
        match address.checked_add(new_size) {
            Some(new_end) if is_last && new_end <= self.end => {
                self.next = new_end;
                true
            }
            _ => new_size <= old_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rstest::rstest;

    use super::Scratch;

    const START: usize = 0x1000;

    #[rstest]
    #[case::aligned_up(&[(3, 1), (8, 8)], &[START, START + 8])]
    #[case::packed_bytes(&[(1, 1), (1, 1), (2, 2)], &[START, START + 1, START + 2])]
    #[case::exactly_full(&[(60, 4), (4, 4)], &[START, START + 60])]
    fn allocations_are_aligned_and_packed(
        #[case] requests: &[(usize, usize)],
        #[case] addresses: &[usize],
    ) {
        let mut scratch = Scratch::new(START, 64);
        let got: Vec<usize> = requests
            .iter()
            .map(|&(size, align)| scratch.allocate(size, align).unwrap())
            .collect();
        assert_eq!(got, addresses);
    }

    #[rstest]
    #[case::too_big(Scratch::new(START, 64), 65, 1)]
    #[case::padding_overflows(Scratch::new(START + 1, 64), 63, 16)]
    #[case::zero_sized(Scratch::new(START, 64), 0, 1)]
    #[case::empty_region(Scratch::empty(), 1, 1)]
    fn no_room_is_none(#[case] mut scratch: Scratch, #[case] size: usize, #[case] align: usize) {
        assert_eq!(scratch.allocate(size, align), None);
    }

    #[test]
    fn freeing_everything_starts_over_and_freeing_the_last_steps_back() {
        let mut scratch = Scratch::new(START, 64);
        let a = scratch.allocate(16, 8).unwrap();
        let b = scratch.allocate(16, 8).unwrap();
        scratch.free(b, 16);
        assert_eq!(
            scratch.allocate(16, 8),
            Some(b),
            "the last one's bytes come back"
        );
        scratch.free(a, 16);
        assert_eq!(
            scratch.allocate(8, 8),
            Some(b + 16),
            "a freed middle one's do not"
        );
        scratch.free(b, 16);
        scratch.free(b + 16, 8);
        assert_eq!(
            scratch.allocate(64, 8),
            Some(START),
            "everything freed: all of it again"
        );
    }

    #[test]
    fn only_the_last_allocation_grows_in_place() {
        let mut scratch = Scratch::new(START, 64);
        let a = scratch.allocate(8, 8).unwrap();
        let b = scratch.allocate(8, 8).unwrap();
        assert!(!scratch.resize_in_place(a, 8, 16), "b follows a");
        assert!(scratch.resize_in_place(a, 8, 4), "shrinking always fits");
        assert!(scratch.resize_in_place(b, 8, 56), "up to the end");
        assert!(!scratch.resize_in_place(b, 56, 57), "not past it");
        assert_eq!(scratch.allocate(1, 1), None);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Allocate { size: usize, align_log2: u32 },
        Free { pick: usize },
        Resize { pick: usize, new_size: usize },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1usize..300, 0u32..5)
                .prop_map(|(size, align_log2)| Step::Allocate { size, align_log2 }),
            any::<usize>().prop_map(|pick| Step::Free { pick }),
            (any::<usize>(), 1usize..300)
                .prop_map(|(pick, new_size)| Step::Resize { pick, new_size }),
        ]
    }

    proptest! {
        /// Whatever the sequence, live allocations stay inside the region, aligned, and never overlap.
        #[test]
        fn live_allocations_never_overlap(steps in prop::collection::vec(step(), 1..200)) {
            let mut scratch = Scratch::new(START, 2048);
            let mut live: Vec<(usize, usize)> = Vec::new();
            for step in steps {
                match step {
                    Step::Allocate { size, align_log2 } => {
                        let align = 1 << align_log2;
                        if let Some(address) = scratch.allocate(size, align) {
                            prop_assert_eq!(address % align, 0);
                            live.push((address, size));
                        }
                    }
                    Step::Free { pick } if !live.is_empty() => {
                        let (address, size) = live.swap_remove(pick % live.len());
                        scratch.free(address, size);
                    }
                    Step::Resize { pick, new_size } if !live.is_empty() => {
                        let index = pick % live.len();
                        let (address, size) = live[index];
                        if scratch.resize_in_place(address, size, new_size) {
                            live[index].1 = new_size;
                        }
                    }
                    _ => {}
                }
                let mut sorted = live.clone();
                sorted.sort_unstable();
                for window in sorted.windows(2) {
                    prop_assert!(window[0].0 + window[0].1 <= window[1].0, "overlap: {:?}", window);
                }
                for &(address, size) in &live {
                    prop_assert!(address >= START && address + size <= START + 2048);
                }
            }
        }
    }
}
