//! What the runtime tells the policy about one import: names and context flags.

use std::fmt;

/// Where and how an import statement runs, as reported by the runtime.
///
/// `Default` is a plain module-level import (`module_level: true`, every
/// other flag `false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImportContext {
    /// The import runs at module level (not inside a function or class body).
    pub module_level: bool,
    /// The import is inside a `try`, `except` or `finally` block.
    pub in_try: bool,
    /// The import is inside a `with` block.
    pub in_with: bool,
    /// The import is inside a `for` or `while` loop.
    pub in_loop: bool,
    /// The import is a star import (`from m import *`).
    pub star: bool,
    /// The import is a `__future__` import.
    pub future: bool,
    /// The import is explicitly marked lazy (PEP 810's `lazy import`).
    pub marked_lazy: bool,
}

impl ImportContext {
    /// A plain module-level import, not marked lazy (same as `Default`).
    pub const MODULE_LEVEL: ImportContext = ImportContext {
        module_level: true,
        in_try: false,
        in_with: false,
        in_loop: false,
        star: false,
        future: false,
        marked_lazy: false,
    };

    /// Which context, if any, forbids deferring this import of `target`.
    ///
    /// Checked in this order: `__future__` (the flag, or a target named
    /// exactly `__future__`), star import, not module level, try, with, loop.
    #[inline]
    pub fn never_lazy_reason(&self, target: &str) -> Option<ContextReason> {
        if self.future || target == "__future__" {
            Some(ContextReason::Future)
        } else if self.star {
            Some(ContextReason::StarImport)
        } else if !self.module_level {
            Some(ContextReason::NotModuleLevel)
        } else if self.in_try {
            Some(ContextReason::InTry)
        } else if self.in_with {
            Some(ContextReason::InWith)
        } else if self.in_loop {
            Some(ContextReason::InLoop)
        } else {
            None
        }
    }
}

impl Default for ImportContext {
    fn default() -> Self {
        ImportContext::MODULE_LEVEL
    }
}

/// A context in which imports are never deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextReason {
    /// A `__future__` import (must take effect at compile time).
    Future,
    /// A star import (the names to bind are only known after loading).
    StarImport,
    /// Not at module level (inside a function or class body).
    NotModuleLevel,
    /// Inside `try` / `except` / `finally` (the code expects `ImportError` here).
    InTry,
    /// Inside a `with` block.
    InWith,
    /// Inside a loop.
    InLoop,
}

impl fmt::Display for ContextReason {
    /// A short phrase such as "inside a try/except/finally block".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextReason::Future => "a __future__ import",
            ContextReason::StarImport => "a star import",
            ContextReason::NotModuleLevel => "not at module level",
            ContextReason::InTry => "inside a try/except/finally block",
            ContextReason::InWith => "inside a with block",
            ContextReason::InLoop => "inside a loop",
        })
    }
}

/// One import as seen by the policy.
///
/// Names are absolute dotted module names (relative imports already
/// resolved by the runtime). Nothing is copied: the query borrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportQuery<'a> {
    /// The module whose code runs the import.
    pub importer: &'a str,
    /// The absolute name of the module being imported.
    pub target: &'a str,
    /// The names after `from target import ...`; empty for `import target`.
    /// Only the filter callback sees it; rules match on `target` alone.
    pub fromlist: &'a [&'a str],
    /// Where and how the import runs.
    pub context: ImportContext,
}

impl<'a> ImportQuery<'a> {
    /// A plain module-level `import target` executed by `importer`.
    pub const fn new(importer: &'a str, target: &'a str) -> Self {
        ImportQuery {
            importer,
            target,
            fromlist: &[],
            context: ImportContext::MODULE_LEVEL,
        }
    }

    /// The same query with `fromlist` set.
    pub const fn with_fromlist(mut self, fromlist: &'a [&'a str]) -> Self {
        self.fromlist = fromlist;
        self
    }

    /// The same query with `context` set.
    pub const fn with_context(mut self, context: ImportContext) -> Self {
        self.context = context;
        self
    }

    /// The same query with `context.marked_lazy` set.
    pub const fn marked_lazy(mut self, marked: bool) -> Self {
        self.context.marked_lazy = marked;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_context_is_lazy_eligible() {
        assert_eq!(ImportContext::default().never_lazy_reason("a"), None);
    }

    #[test]
    fn each_never_lazy_context_is_named() {
        let base = ImportContext::default();
        let cases = [
            (
                ImportContext {
                    future: true,
                    ..base
                },
                ContextReason::Future,
            ),
            (
                ImportContext { star: true, ..base },
                ContextReason::StarImport,
            ),
            (
                ImportContext {
                    module_level: false,
                    ..base
                },
                ContextReason::NotModuleLevel,
            ),
            (
                ImportContext {
                    in_try: true,
                    ..base
                },
                ContextReason::InTry,
            ),
            (
                ImportContext {
                    in_with: true,
                    ..base
                },
                ContextReason::InWith,
            ),
            (
                ImportContext {
                    in_loop: true,
                    ..base
                },
                ContextReason::InLoop,
            ),
        ];
        for (ctx, reason) in cases {
            assert_eq!(ctx.never_lazy_reason("a"), Some(reason));
        }
        assert_eq!(
            base.never_lazy_reason("__future__"),
            Some(ContextReason::Future)
        );
    }

    #[test]
    fn future_wins_over_other_contexts() {
        let ctx = ImportContext {
            module_level: false,
            in_try: true,
            future: true,
            ..ImportContext::default()
        };
        assert_eq!(ctx.never_lazy_reason("a"), Some(ContextReason::Future));
    }
}
