//! Per-module lazy-import policy: decides, when an import statement runs,
//! whether it is deferred (lazy) or executed now (eager).
//!
//! # Inputs
//! An [`ImportQuery`]: the importer, the absolute target, the fromlist and
//! the [`ImportContext`] flags reported by the runtime.
//!
//! # Precedence
//! The first row that applies decides; [`ActivePolicy::explain`] names it.
//!
//! | # | rule or context | decision | [`Reason`] |
//! |---|-----------------|----------|------------|
//! | 1 | never-lazy context: `__future__`, star import, not module level, try/except/finally, with, loop | eager | `Context(..)` |
//! | 2 | mode `none` | eager | `ModeNone` |
//! | 3 | the thread is inside an [`eager_scope`] | eager | `EagerScope` |
//! | 4 | importer opt-out (`eager-importer`) | eager | `ImporterOptOut` |
//! | 5 | target opt-out (`eager-target`) | eager | `TargetOptOut` |
//! | 6 | target opt-in (`lazy-target`) | defer | `TargetOptIn` |
//! | 7 | importer opt-in (`lazy-importer`) | defer | `ImporterOptIn` |
//! | 8 | mode `normal` and the import is not marked lazy | eager | `NotMarkedLazy` |
//! | 9 | the filter callback returns `false` | eager | `Filter` |
//! | 10 | mode `normal` (marked lazy) / mode `all` | defer | `MarkedLazy` / `ModeAll` |
//!
//! Rows 8 to 10 are "filter, then mode": the filter can only veto laziness,
//! so it is consulted only when the mode would defer (and never in mode
//! `none`, nor when a rule decided).
//!
//! Opt-ins in each mode: in `none` nothing is lazy; in `normal` an opt-in
//! makes an import lazy that is not marked lazy; in `all` imports are
//! already lazy, and an opt-in only shields the import from the filter.
//!
//! # Rules
//! Patterns are `a.b` (exactly `a.b`) or `a.b.*` (`a.b` and every submodule).
//! When several rules of one kind match, the most specific one is reported:
//! an exact rule on the whole name, then a prefix rule on the whole name,
//! then prefix rules on ever shorter prefixes. An importer rule `m` is
//! shallow: imports run by `m.sub` are not covered unless listed (or `m.*`
//! is used). Rules look at the target name only; `fromlist` is passed to the
//! filter.
//!
//! # Cost
//! A decision loads the published snapshot without locking (arc-swap), then
//! does one hash probe per dotted segment of the importer and of the target:
//! the cost depends on the depth of the names, not on the number of rules,
//! and nothing is allocated.
//!
//! # Built-in opt-outs
//! [`BUILTIN_RULES`]: packages whose import has side effects that other
//! code relies on at import time, each with its reason; a runtime adds
//! [`builtin_rules`] under the user's policy.
//!
//! # Sources
//! [`PolicyBuilder`], [`Policy::parse`] (format documented in [`parse`] and
//! `docs/policy-format.md`), [`Policy::from_file`], and [`Policy::from_env`]
//! (`LAZY_BIND_POLICY`, policy text or `@path`).
//!
//! ```
//! use lazy_bind::policy::{ActivePolicy, Decision, ImportQuery, Policy};
//!
//! let policy = Policy::parse("mode all; eager-target torch.*")?;
//! let active = ActivePolicy::new(policy);
//! assert_eq!(active.decide(&ImportQuery::new("app", "numpy")), Decision::Defer);
//! assert_eq!(active.decide(&ImportQuery::new("app", "torch.nn")), Decision::Eager);
//! assert_eq!(
//!     active.explain("app", "torch.nn").to_string(),
//!     "eager: target opt-out rule 'eager-target torch.*'"
//! );
//! # Ok::<(), lazy_bind::policy::PolicyError>(())
//! ```

mod active;
mod builder;
mod builtin;
mod context;
mod decide;
mod explain;
mod mode;
pub mod parse;
mod pattern;
mod rules;
mod scope;
mod source;

pub use active::{ActivePolicy, PendingResolver};
pub use builder::{Policy, PolicyBuilder};
pub use builtin::{builtin_rules, BuiltinRule, BUILTIN_RULES};
pub use context::{ContextReason, ImportContext, ImportQuery};
pub use decide::Filter;
pub use explain::{Decision, Explanation, Reason};
pub use mode::{Mode, ParseModeError};
pub use parse::{PolicyError, PolicyErrorKind};
pub use pattern::{NameError, NameReason, Pattern};
pub use rules::{ParseRuleKindError, RuleKind};
pub use scope::{
    eager_scope, enter_eager_scope, in_eager_scope, leave_eager_scope, EagerScope, NotInEagerScope,
};
pub use source::{LoadError, ENV_VAR};
