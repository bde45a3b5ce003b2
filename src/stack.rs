//! The per-thread stack of resolutions in progress, used to name cycles.

use std::cell::RefCell;
use std::sync::Arc;

use crate::{Chain, ChainLink, Declaration, LinkKind, ThreadKey};

/// One resolution in progress on this thread.
struct Frame {
    stamp: u64,
    declaration: Arc<Declaration>,
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Marks a resolution as in progress on this thread until dropped.
pub(crate) struct FrameGuard(());

/// Pushes the resolution of the entry with `stamp` onto this thread's stack.
pub(crate) fn push(stamp: u64, declaration: Arc<Declaration>) -> FrameGuard {
    STACK.with(|stack| stack.borrow_mut().push(Frame { stamp, declaration }));
    FrameGuard(())
}

impl Drop for FrameGuard {
    fn drop(&mut self) {
        STACK.with(|stack| stack.borrow_mut().pop());
    }
}

/// The chain from this thread's resolution of `stamp` to its re-entry:
/// `[first resolution of the entry, ..., innermost resolution, the entry again]`.
pub(crate) fn cycle_chain(stamp: u64, declaration: &Arc<Declaration>) -> Chain {
    let owner = Some(ThreadKey::current());
    let link = |declaration: &Arc<Declaration>| ChainLink {
        declaration: Arc::clone(declaration),
        owner,
        kind: LinkKind::Entry,
    };
    STACK.with(|stack| {
        let stack = stack.borrow();
        let start = stack
            .iter()
            .rposition(|frame| frame.stamp == stamp)
            .unwrap_or(stack.len());
        let mut links: Vec<ChainLink> = stack[start..]
            .iter()
            .map(|frame| link(&frame.declaration))
            .collect();
        links.push(link(declaration));
        Chain::new(links)
    })
}

/// The innermost resolution in progress on this thread, if any.
pub(crate) fn innermost() -> Option<Arc<Declaration>> {
    STACK.with(|stack| {
        stack
            .borrow()
            .last()
            .map(|frame| Arc::clone(&frame.declaration))
    })
}

/// How many resolutions are in progress on this thread.
pub(crate) fn depth() -> usize {
    STACK.with(|stack| stack.borrow().len())
}
