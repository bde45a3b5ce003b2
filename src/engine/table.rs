//! The deferred-object table: slots that never move, in pages that double in
//! size, so a handle's index finds its slot with one pointer load.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use super::slot::Slot;

/// Slots in the first page; page `p` holds `FIRST_PAGE << p` slots.
const FIRST_PAGE_BITS: u32 = 6;
const FIRST_PAGE: u64 = 1 << FIRST_PAGE_BITS;
/// Enough pages for every `u32` index.
const PAGE_COUNT: usize = 33 - FIRST_PAGE_BITS as usize;

/// Where slot `index` lives: (page, offset in page, page length).
#[inline]
fn locate(index: u32) -> (usize, usize, usize) {
    let shifted = index as u64 + FIRST_PAGE;
    let page = (63 - shifted.leading_zeros() - FIRST_PAGE_BITS) as usize;
    let len = (FIRST_PAGE << page) as usize;
    (page, shifted as usize - len, len)
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
    pages: [AtomicPtr<Slot<V>>; PAGE_COUNT],
    allocation: Mutex<Allocation>,
}

impl<V> Table<V> {
    pub(crate) fn new() -> Self {
        Table {
            pages: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            allocation: Mutex::new(Allocation::default()),
        }
    }

    /// The slot at `index`, if its page exists.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&Slot<V>> {
        let (page, offset, _) = locate(index);
        // Acquire pairs with the Release store in `allocate`: the page's
        // slots are initialised before the pointer is seen.
        let base = self.pages[page].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-null page pointer points to `len > offset` slots that
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
                allocation.next = index
                    .checked_add(1)
                    .expect("lazy_bind table is full (2^32 entries)");
                index
            }
        };
        let (page, _, len) = locate(index);
        if self.pages[page].load(Ordering::Relaxed).is_null() {
            let slots: Box<[Slot<V>]> = (0..len).map(|_| Slot::default()).collect();
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
        (0..PAGE_COUNT)
            .map_while(|page| {
                // Acquire pairs with the Release store in `allocate`.
                let base = self.pages[page].load(Ordering::Acquire);
                (!base.is_null()).then_some((page, base))
            })
            .flat_map(|(page, base)| {
                let first = (FIRST_PAGE << page) - FIRST_PAGE;
                (0..FIRST_PAGE << page).map(move |offset| {
                    // SAFETY: as in `get`: the page has `FIRST_PAGE << page`
                    // initialised slots that live as long as the table.
                    let slot = unsafe { &*base.add(offset as usize) };
                    ((first + offset) as u32, slot)
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
        for (page, base) in self.pages.iter_mut().enumerate() {
            let base = *base.get_mut();
            if base.is_null() {
                continue;
            }
            let len = (FIRST_PAGE << page) as usize;
            // SAFETY: the pointer came from `Box::<[Slot<V>]>::into_raw` of a
            // slice of exactly `len` slots in `allocate`, and `&mut self`
            // means no reference to any slot is left.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(base, len)) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn pages_double_and_cover_every_index() {
        assert_eq!(locate(0), (0, 0, 64));
        assert_eq!(locate(63), (0, 63, 64));
        assert_eq!(locate(64), (1, 0, 128));
        assert_eq!(locate(191), (1, 127, 128));
        assert_eq!(locate(192), (2, 0, 256));
        let (page, offset, len) = locate(u32::MAX);
        assert_eq!(page, super::PAGE_COUNT - 1);
        assert!(offset < len);
    }
}
