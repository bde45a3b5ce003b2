//! Rule kinds and the rule set: a trie keyed by dotted name segments, so a
//! lookup costs one hash probe per segment of the queried name, whatever the
//! number of rules.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::pattern::Pattern;

/// The four kinds of policy rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// Target opt-out (`eager-target`): imports of a matching target are eager.
    EagerTarget,
    /// Target opt-in (`lazy-target`): imports of a matching target are deferred,
    /// even in mode `normal` without a `lazy` marker.
    LazyTarget,
    /// Importer opt-out (`eager-importer`): imports executed by a matching
    /// importer are eager. `m` is shallow (only `m` itself); `m.*` also covers
    /// every submodule of `m`.
    EagerImporter,
    /// Importer opt-in (`lazy-importer`, the `__lazy_modules__` idea): imports
    /// executed by a matching importer are deferred.
    LazyImporter,
}

impl RuleKind {
    /// Every rule kind, in policy-text order.
    pub const ALL: [RuleKind; 4] = [
        RuleKind::EagerTarget,
        RuleKind::LazyTarget,
        RuleKind::EagerImporter,
        RuleKind::LazyImporter,
    ];

    /// The policy-text keyword (`eager-target`, `lazy-target`,
    /// `eager-importer`, `lazy-importer`).
    pub const fn keyword(self) -> &'static str {
        match self {
            RuleKind::EagerTarget => "eager-target",
            RuleKind::LazyTarget => "lazy-target",
            RuleKind::EagerImporter => "eager-importer",
            RuleKind::LazyImporter => "lazy-importer",
        }
    }

    /// The trie flag for this kind: exact patterns use the low nibble, prefix
    /// patterns the high nibble.
    fn flag(self, prefix: bool) -> u8 {
        let bit = match self {
            RuleKind::EagerTarget => 1,
            RuleKind::LazyTarget => 2,
            RuleKind::EagerImporter => 4,
            RuleKind::LazyImporter => 8,
        };
        if prefix {
            bit << 4
        } else {
            bit
        }
    }
}

impl fmt::Display for RuleKind {
    /// Writes the policy-text keyword.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The text is not a rule keyword.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown rule kind '{text}' (expected one of eager-target, lazy-target, eager-importer, lazy-importer)"
)]
pub struct ParseRuleKindError {
    /// The rejected text, unchanged.
    pub text: String,
}

impl FromStr for RuleKind {
    type Err = ParseRuleKindError;

    /// Parses a rule keyword (exact, case-sensitive).
    ///
    /// # Errors
    /// Returns [`ParseRuleKindError`] for anything else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleKind::ALL
            .into_iter()
            .find(|k| k.keyword() == s)
            .ok_or_else(|| ParseRuleKindError { text: s.to_owned() })
    }
}

/// Which side of an import a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Target,
    Importer,
}

/// The most specific match of one opt-out and one opt-in kind on a name.
///
/// `end` is the byte length of the matched name prefix; the matched pattern
/// is `name[..end]` (plus `.*` when `prefix`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Matches {
    pub(crate) eager: Option<Hit>,
    pub(crate) lazy: Option<Hit>,
}

/// One rule match, borrowing nothing: positions into the queried name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) end: usize,
    pub(crate) prefix: bool,
}

impl Hit {
    /// The rule that matched, rebuilt from the queried name.
    pub(crate) fn pattern(self, name: &str) -> Pattern {
        Pattern::from_valid(&name[..self.end], self.prefix)
    }
}

#[derive(Debug, Default, Clone)]
struct Node {
    flags: u8,
    children: HashMap<Box<str>, Node>,
}

/// An immutable set of rules with depth-proportional lookup.
#[derive(Debug, Default, Clone)]
pub(crate) struct RuleSet {
    root: Node,
    /// The rules in insertion order, without duplicates, for display.
    list: Vec<(RuleKind, Pattern)>,
}

impl RuleSet {
    /// Adds a rule; adding the same rule twice has no further effect.
    pub(crate) fn insert(&mut self, kind: RuleKind, pattern: Pattern) {
        let mut node = &mut self.root;
        for seg in pattern.name().split('.') {
            node = node.children.entry(seg.into()).or_default();
        }
        let flag = kind.flag(pattern.is_prefix());
        if node.flags & flag == 0 {
            node.flags |= flag;
            self.list.push((kind, pattern));
        }
    }

    /// The rules in insertion order.
    pub(crate) fn list(&self) -> &[(RuleKind, Pattern)] {
        &self.list
    }

    /// Whether there are no rules at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Finds the most specific opt-out and opt-in matches for `name` on one
    /// side. Specificity: an exact rule on the whole name, then a prefix rule
    /// on the whole name, then prefix rules on ever shorter prefixes.
    ///
    /// Costs one hash probe per segment of `name` and never allocates.
    #[inline]
    pub(crate) fn lookup(&self, side: Side, name: &str) -> Matches {
        let (eager, lazy) = match side {
            Side::Target => (RuleKind::EagerTarget, RuleKind::LazyTarget),
            Side::Importer => (RuleKind::EagerImporter, RuleKind::LazyImporter),
        };
        let mut out = Matches::default();
        if self.root.children.is_empty() {
            return out;
        }
        let mut node = &self.root;
        let mut start = 0;
        loop {
            let rest = &name[start..];
            let (seg, end, last) = match rest.find('.') {
                Some(i) => (&rest[..i], start + i, false),
                None => (rest, name.len(), true),
            };
            node = match node.children.get(seg) {
                Some(n) => n,
                None => return out,
            };
            // Deeper matches are more specific: overwrite shallower ones.
            if node.flags & eager.flag(true) != 0 {
                out.eager = Some(Hit { end, prefix: true });
            }
            if node.flags & lazy.flag(true) != 0 {
                out.lazy = Some(Hit { end, prefix: true });
            }
            if last {
                if node.flags & eager.flag(false) != 0 {
                    out.eager = Some(Hit { end, prefix: false });
                }
                if node.flags & lazy.flag(false) != 0 {
                    out.lazy = Some(Hit { end, prefix: false });
                }
                return out;
            }
            start = end + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rules: &[(RuleKind, &str)]) -> RuleSet {
        let mut s = RuleSet::default();
        for (k, p) in rules {
            s.insert(*k, Pattern::parse(p).unwrap());
        }
        s
    }

    fn eager_target(s: &RuleSet, name: &str) -> Option<String> {
        s.lookup(Side::Target, name)
            .eager
            .map(|h| h.pattern(name).to_string())
    }

    #[test]
    fn rule_kind_keywords_round_trip() {
        for k in RuleKind::ALL {
            assert_eq!(k.keyword().parse::<RuleKind>(), Ok(k));
        }
        assert!("eagr-target".parse::<RuleKind>().is_err());
    }

    #[test]
    fn exact_and_prefix_matching() {
        let s = set(&[
            (RuleKind::EagerTarget, "a.b"),
            (RuleKind::EagerTarget, "x.*"),
        ]);
        assert_eq!(eager_target(&s, "a.b").as_deref(), Some("a.b"));
        assert_eq!(eager_target(&s, "a.b.c"), None);
        assert_eq!(eager_target(&s, "a"), None);
        assert_eq!(eager_target(&s, "x").as_deref(), Some("x.*"));
        assert_eq!(eager_target(&s, "x.y.z").as_deref(), Some("x.*"));
        assert_eq!(eager_target(&s, "xy"), None);
    }

    #[test]
    fn most_specific_match_wins() {
        let s = set(&[
            (RuleKind::EagerTarget, "a.*"),
            (RuleKind::EagerTarget, "a.b.*"),
            (RuleKind::EagerTarget, "a.b.c"),
        ]);
        assert_eq!(eager_target(&s, "a.b.c").as_deref(), Some("a.b.c"));
        assert_eq!(eager_target(&s, "a.b.d").as_deref(), Some("a.b.*"));
        assert_eq!(eager_target(&s, "a.x").as_deref(), Some("a.*"));
    }

    #[test]
    fn sides_and_kinds_are_separate() {
        let s = set(&[
            (RuleKind::LazyImporter, "m"),
            (RuleKind::EagerImporter, "n.*"),
        ]);
        assert!(s.lookup(Side::Target, "m").lazy.is_none());
        assert!(s.lookup(Side::Importer, "m").lazy.is_some());
        assert!(s.lookup(Side::Importer, "m").eager.is_none());
        assert!(s.lookup(Side::Importer, "n.q").eager.is_some());
    }

    #[test]
    fn duplicates_are_listed_once() {
        let s = set(&[(RuleKind::EagerTarget, "a"), (RuleKind::EagerTarget, "a")]);
        assert_eq!(s.list().len(), 1);
    }
}
