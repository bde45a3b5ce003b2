//! The deferred-object table: slots that never move, in fixed-size pages,
//! so a handle's index finds its slot with a shift, a mask and one load.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use super::slot::Slot;

/// Slots per page (a page is allocated when its first slot is needed).
const PAGE_BITS: u32 = 10;
const PAGE_LEN: usize = 1 << PAGE_BITS;
/// Pages in the directory: the table holds at most
/// `PAGE_COUNT * PAGE_LEN` (4,194,304) live entries.
const PAGE_COUNT: usize = 4096;

/// The most entries an engine holds at once.
pub(crate) const CAPACITY: u32 = (PAGE_COUNT * PAGE_LEN) as u32;

/// Where slot `index` lives: (page, offset in page). Fixed-size pages keep
/// this to a shift and a mask on the hot path (a bit scan for doubling pages
/// measured four times slower).
#[inline]
fn locate(index: u32) -> (usize, usize) {
    (
        (index >> PAGE_BITS) as usize,
        index as usize & (PAGE_LEN - 1),
    )
}

/// Which indices are in use.
#[derive(Default)]
pub(crate) struct Allocation {
    /// One past the highest index ever handed out.
    next: u32,
    /// Indices of discarded entries, ready for reuse.
    free: Vec<u32>,
}

/// A growable array of slots whose addresses are stable for the table's life.
pub(crate) struct Table<V> {
    pages: Box<[AtomicPtr<Slot<V>>; PAGE_COUNT]>,
    allocation: Mutex<Allocation>,
}

impl<V> Table<V> {
    pub(crate) fn new() -> Self {
        // Built on the heap: `Box::new([..; PAGE_COUNT])` would first build
        // the 32 KiB directory on the stack and move it.
        let pages: Box<[AtomicPtr<Slot<V>>]> = (0..PAGE_COUNT)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        Table {
            pages: pages
                .try_into()
                .unwrap_or_else(|_| unreachable!("PAGE_COUNT pages were built")),
            allocation: Mutex::new(Allocation::default()),
        }
    }

    /// The slot at `index`, if its page exists.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&Slot<V>> {
        let (page, offset) = locate(index);
        let page = self.pages.get(page)?;
        // Acquire pairs with the Release store in `allocate`: the page's
        // slots are initialised before the pointer is seen.
        let base = page.load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null page pointer points to `PAGE_LEN > offset` slots that
        // live until the table is dropped, and slots are only accessed by
        // shared reference.
        Some(unsafe { &*base.add(offset) })
    }

    /// Takes a free index (reusing discarded ones first), creating its page
    /// if needed, and returns it with its slot.
    pub(crate) fn allocate(&self) -> (u32, &Slot<V>) {
        let mut allocation = self.lock_allocation();
        let index = match allocation.free.pop() {
            Some(index) => index,
            None => {
                let index = allocation.next;
                assert!(
                    index < CAPACITY,
                    "lazy_bind engine is full ({CAPACITY} live entries)"
                );
                allocation.next = index + 1;
                index
            }
        };
        let (page, _) = locate(index);
        if self.pages[page].load(Ordering::Relaxed).is_null() {
            let slots: Box<[Slot<V>]> = (0..PAGE_LEN).map(|_| Slot::default()).collect();
            // Release pairs with the Acquire in `get`. Pages are only created
            // under the allocation lock, so there is no race to create one.
            self.pages[page].store(Box::into_raw(slots).cast(), Ordering::Release);
        }
        drop(allocation);
        let slot = self.get(index).expect("the page was just created");
        (index, slot)
    }

    /// Returns `index` to the free list. The slot must already be free.
    pub(crate) fn release(&self, index: u32) {
        self.lock_allocation().free.push(index);
    }

    /// Every slot of every page created so far, with its index. Takes no
    /// lock, so it also works in a forked child.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (u32, &Slot<V>)> {
        self.pages
            .iter()
            .map_while(|page| {
                // Acquire pairs with the Release store in `allocate`. Pages
                // are created in index order, so the first null ends the walk.
                let base = page.load(Ordering::Acquire);
                (!base.is_null()).then_some(base)
            })
            .enumerate()
            .flat_map(|(page, base)| {
                (0..PAGE_LEN).map(move |offset| {
                    // SAFETY: as in `get`: the page has `PAGE_LEN` initialised
                    // slots that live as long as the table.
                    let slot = unsafe { &*base.add(offset) };
                    ((page * PAGE_LEN + offset) as u32, slot)
                })
            })
    }

    /// Whether the allocation lock is free now (in a forked child: was not
    /// held by a thread that did not survive the fork).
    pub(crate) fn allocation_lock_is_free(&self) -> bool {
        !matches!(self.allocation.try_lock(), Err(TryLockError::WouldBlock))
    }

    fn lock_allocation(&self) -> MutexGuard<'_, Allocation> {
        self.allocation
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<V> Drop for Table<V> {
    fn drop(&mut self) {
        for base in self.pages.iter_mut() {
            let base = *base.get_mut();
            if base.is_null() {
                continue;
            }
            // SAFETY: the pointer came from `Box::<[Slot<V>]>::into_raw` of a
            // slice of exactly `PAGE_LEN` slots in `allocate`, and `&mut self`
            // means no reference to any slot is left.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, PAGE_LEN)) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{locate, CAPACITY, PAGE_COUNT, PAGE_LEN};

    #[test]
    fn indices_map_to_pages_and_offsets() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1023), (0, 1023));
        assert_eq!(locate(1024), (1, 0));
        assert_eq!(locate(CAPACITY - 1), (PAGE_COUNT - 1, PAGE_LEN - 1));
        assert_eq!(locate(CAPACITY).0, PAGE_COUNT, "past the end: no page");
    }
}
