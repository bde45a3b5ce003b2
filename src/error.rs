//! The engine's error type.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::{Declaration, Handle, Site, ThreadKey};

/// Everything that can go wrong when an entry is created, resolved or discarded.
///
/// Errors are cheap to clone: every thread that waited on a failed attempt
/// receives a clone of the same error. Every variant that concerns a known
/// entry carries its [`Declaration`] (name and declaration site) and, where the
/// failure happened during an access, the access site.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The runtime's resolver returned an error. `source` is that error,
    /// unchanged, so a runtime can recover its own exception object.
    #[error(
        "lazy binding of {declaration} failed while resolving at {}: {source}",
        AccessSite(access)
    )]
    ResolverFailed {
        /// The entry whose resolver failed.
        declaration: Arc<Declaration>,
        /// Where the access that ran the resolver happened.
        access: Option<Site>,
        /// The resolver's own error.
        source: ResolveError,
    },

    /// The resolver panicked. The entry went back to pending (or failed, with
    /// sticky failures); the thread that ran it sees the panic itself, the
    /// threads that waited on it get this error.
    #[error(
        "resolver of {declaration} panicked while resolving at {}: {message}",
        AccessSite(access)
    )]
    ResolverPanicked {
        /// The entry whose resolver panicked.
        declaration: Arc<Declaration>,
        /// Where the access that ran the resolver happened.
        access: Option<Site>,
        /// The panic payload, if it was a string.
        message: Arc<str>,
    },

    /// Resolving an entry needed the same entry again on the same thread.
    #[error("lazy binding cycle at {}: {chain}", AccessSite(access))]
    Cycle {
        /// The resolutions in progress, from the first one of the entry to its
        /// re-entry (the first and last link name the same entry).
        chain: Chain,
        /// Where the re-entering access happened.
        access: Option<Site>,
    },

    /// Waiting for another thread's resolution would never end: the wait-for
    /// chain through entry owners leads back to this thread.
    #[error("lazy binding deadlock at {}: {chain}", AccessSite(access))]
    Deadlock {
        /// The waits, starting with this thread's and ending with the one that
        /// leads back to it.
        chain: Chain,
        /// Where the access that would have blocked happened.
        access: Option<Site>,
    },

    /// The handle does not name a live entry of this engine: it was
    /// discarded, never created, or belongs to another engine.
    #[error(
        "stale or foreign lazy binding handle {handle:?} (used at {})",
        AccessSite(access)
    )]
    StaleHandle {
        /// The handle that was passed in.
        handle: Handle,
        /// Where it was used.
        access: Option<Site>,
    },

    /// The entry was discarded while this access was resolving or waiting
    /// for it.
    #[error(
        "lazy binding of {declaration} was discarded while resolving at {}",
        AccessSite(access)
    )]
    Discarded {
        /// The discarded entry.
        declaration: Arc<Declaration>,
        /// The access that was in progress.
        access: Option<Site>,
    },

    /// After `fork()`, the entry's state was locked by a thread that does not
    /// exist in the child, so it cannot be resolved there.
    #[error("lazy binding {handle:?} was lost in a fork: a thread that did not survive it held the entry's lock")]
    LostInFork {
        /// The lost entry.
        handle: Handle,
    },
}

impl Error {
    /// The declaration of the entry the error is about, if there is one.
    ///
    /// For a cycle or deadlock it is the chain's last link: for a cycle, the
    /// entry whose access re-entered it; for a deadlock, what the detecting
    /// thread holds that the waits lead back to (an entry it is resolving, or
    /// a [`RuntimeLock`](crate::wait::RuntimeLock) it holds), not the entry
    /// whose access would have blocked (link 1 of the chain, or link 0 when
    /// the detecting thread was resolving nothing).
    pub fn declaration(&self) -> Option<&Declaration> {
        match self {
            Error::ResolverFailed { declaration, .. }
            | Error::ResolverPanicked { declaration, .. }
            | Error::Discarded { declaration, .. } => Some(declaration),
            Error::Cycle { chain, .. } | Error::Deadlock { chain, .. } => {
                chain.links().last().map(|link| &*link.declaration)
            }
            Error::StaleHandle { .. } | Error::LostInFork { .. } => None,
        }
    }

    /// The site of the access during which the error happened, if known.
    pub fn access_site(&self) -> Option<&Site> {
        match self {
            Error::ResolverFailed { access, .. }
            | Error::ResolverPanicked { access, .. }
            | Error::Cycle { access, .. }
            | Error::Deadlock { access, .. }
            | Error::StaleHandle { access, .. }
            | Error::Discarded { access, .. } => access.as_ref(),
            Error::LostInFork { .. } => None,
        }
    }

    /// The chain of a cycle or deadlock error.
    pub fn chain(&self) -> Option<&Chain> {
        match self {
            Error::Cycle { chain, .. } | Error::Deadlock { chain, .. } => Some(chain),
            _ => None,
        }
    }
}

/// Formats an optional access site.
struct AccessSite<'a>(&'a Option<Site>);

impl fmt::Display for AccessSite<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(site) => site.fmt(f),
            None => f.write_str("<unknown access site>"),
        }
    }
}

/// One step of a cycle or deadlock chain: an entry being resolved and the
/// thread resolving it, or a runtime lock and the thread holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// The entry's declaration, or what the runtime lock is
    /// ([`RuntimeLock::new`](crate::wait::RuntimeLock::new)).
    pub declaration: Arc<Declaration>,
    /// The thread that owns (is resolving) the entry or holds the lock,
    /// where known.
    pub owner: Option<ThreadKey>,
    /// Whether the link is an entry or a runtime lock.
    pub kind: LinkKind,
}

/// What a [`ChainLink`] waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// An engine entry's resolution.
    Entry,
    /// A lock of the runtime's own, reported through
    /// [`RuntimeLock`](crate::wait::RuntimeLock).
    RuntimeLock,
}

/// The chain named by a cycle or deadlock error, printed as
/// `'a' (declared at a.py:1) -> 'b' (declared at b.py:2) -> 'a' (...)`, a
/// runtime lock by its name (and its site, where it has one), each link
/// followed by its thread as `[thread N]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chain(Vec<ChainLink>);

impl Chain {
    pub(crate) fn new(links: Vec<ChainLink>) -> Self {
        Chain(links)
    }

    /// The links, in the order the waits or resolutions happened.
    pub fn links(&self) -> &[ChainLink] {
        &self.0
    }

    /// The names of the links, in order (`["a", "b", "a"]`).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|link| link.declaration.name()).collect()
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, link) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" -> ")?;
            }
            match link.kind {
                LinkKind::Entry => write!(f, "{}", link.declaration)?,
                // A lock's name says what it is; its site, where it has one.
                LinkKind::RuntimeLock if *link.declaration.site() == Site::unknown() => {
                    f.write_str(link.declaration.name())?
                }
                LinkKind::RuntimeLock => write!(
                    f,
                    "{} (at {})",
                    link.declaration.name(),
                    link.declaration.site()
                )?,
            }
            if let Some(owner) = link.owner {
                write!(f, " [{owner}]")?;
            }
        }
        Ok(())
    }
}

/// The error a resolver returns: any error type, shared so that every waiter
/// receives the same one.
///
/// Use [`ResolveError::new`] for a typed error the runtime wants back (find it
/// again with [`downcast_ref`](ResolveError::downcast_ref)), or
/// [`ResolveError::msg`] for a message. An engine [`Error`] converts with `?`:
/// a cycle or deadlock error returned by a resolver keeps its kind and chain
/// instead of being wrapped.
#[derive(Clone)]
pub struct ResolveError(Arc<dyn StdError + Send + Sync + 'static>);

impl ResolveError {
    /// Wraps a resolver error.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        ResolveError(Arc::new(error))
    }

    /// A resolver error that is just a message.
    pub fn msg(message: impl Into<String>) -> Self {
        ResolveError(Arc::new(Message(message.into())))
    }

    /// The wrapped error.
    pub fn get_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.0
    }

    /// The wrapped error, if it is a `T`.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }

    /// The engine error inside, if the resolver passed one up.
    pub fn as_engine_error(&self) -> Option<&Error> {
        self.downcast_ref::<Error>()
    }
}

impl From<Error> for ResolveError {
    fn from(error: Error) -> Self {
        ResolveError::new(error)
    }
}

impl fmt::Debug for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl StdError for ResolveError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}
