//! Module-name patterns: `a.b` (exact) and `a.b.*` (the module and all its
//! submodules), with validation that points at the offending character.

use std::fmt;
use std::str::FromStr;

/// A validated module-name pattern used by a policy rule.
///
/// * `a.b` matches exactly the module `a.b`.
/// * `a.b.*` matches `a.b` itself and every submodule (`a.b.c`, `a.b.c.d`),
///   but not `a.bc`.
///
/// A name is one or more segments separated by `.`; each segment starts with
/// a letter or `_` and continues with letters, digits or `_` (Unicode letters
/// and digits are accepted, as in Python identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    name: Box<str>,
    prefix: bool,
}

/// Why a module-name pattern was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameReason {
    /// The pattern is empty.
    Empty,
    /// A segment between dots is empty (`a..b`, `.a`, `a.`).
    EmptySegment,
    /// `*` appears other than as the whole last segment (`a*`, `*.a`, `*`).
    MisplacedStar,
    /// A segment starts with a character that cannot start an identifier.
    InvalidStart(char),
    /// A character that is not a letter, digit or `_`.
    InvalidCharacter(char),
}

impl fmt::Display for NameReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameReason::Empty => f.write_str("empty module name"),
            NameReason::EmptySegment => f.write_str("empty name segment"),
            NameReason::MisplacedStar => {
                f.write_str("'*' is only allowed as the whole last segment ('pkg.*')")
            }
            NameReason::InvalidStart(c) => write!(f, "a name segment cannot start with {c:?}"),
            NameReason::InvalidCharacter(c) => write!(f, "invalid character {c:?}"),
        }
    }
}

/// A module-name pattern is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid module name '{text}' at column {column}: {reason}")]
pub struct NameError {
    /// 1-based column (in characters) of the offending character within `text`.
    pub column: usize,
    /// The whole rejected pattern.
    pub text: String,
    /// What is wrong.
    pub reason: NameReason,
}

impl Pattern {
    /// Parses and validates a pattern (`a.b` or `a.b.*`).
    ///
    /// # Errors
    /// Returns [`NameError`] naming the column of the first offending
    /// character: empty names or segments, `*` anywhere but as the whole last
    /// segment, and characters that are not valid in identifiers.
    pub fn parse(text: &str) -> Result<Pattern, NameError> {
        match validate(text) {
            Ok(prefix) => {
                let name = if prefix {
                    &text[..text.len() - 2]
                } else {
                    text
                };
                Ok(Pattern {
                    name: name.into(),
                    prefix,
                })
            }
            Err((char_offset, reason)) => Err(NameError {
                column: char_offset + 1,
                text: text.to_owned(),
                reason,
            }),
        }
    }

    /// Builds a pattern from a name already known to be valid, without
    /// re-validating it (used when reporting which part of a query matched).
    pub(crate) fn from_valid(name: &str, prefix: bool) -> Pattern {
        Pattern {
            name: name.into(),
            prefix,
        }
    }

    /// The module name without the `.*` suffix.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this is a prefix pattern (`a.b.*`).
    pub fn is_prefix(&self) -> bool {
        self.prefix
    }

    /// Whether `module` is matched: equal to the name, or, for a prefix
    /// pattern, a submodule of it at any depth.
    pub fn matches(&self, module: &str) -> bool {
        if module == &*self.name {
            return true;
        }
        self.prefix
            && module.len() > self.name.len()
            && module.starts_with(&*self.name)
            && module.as_bytes()[self.name.len()] == b'.'
    }
}

impl fmt::Display for Pattern {
    /// Writes the pattern as it appears in policy text (`a.b` or `a.b.*`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.prefix {
            f.write_str(".*")?;
        }
        Ok(())
    }
}

impl FromStr for Pattern {
    type Err = NameError;

    /// Same as [`Pattern::parse`].
    ///
    /// # Errors
    /// See [`Pattern::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pattern::parse(s)
    }
}

/// Returns whether the pattern is a prefix pattern, or the 0-based character
/// offset of the first problem.
fn validate(text: &str) -> Result<bool, (usize, NameReason)> {
    if text.is_empty() {
        return Err((0, NameReason::Empty));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut prefix = false;
    let mut seg_start = 0;
    let mut i = 0;
    loop {
        // Scan one segment: chars[seg_start..i].
        while i < chars.len() && chars[i] != '.' {
            let c = chars[i];
            if c == '*' {
                let whole_last = i == seg_start && seg_start > 0 && i + 1 == chars.len();
                if !whole_last {
                    return Err((i, NameReason::MisplacedStar));
                }
                prefix = true;
            } else if i == seg_start {
                if !(c == '_' || c.is_alphabetic()) {
                    return Err((i, NameReason::InvalidStart(c)));
                }
            } else if !(c == '_' || c.is_alphanumeric()) {
                return Err((i, NameReason::InvalidCharacter(c)));
            }
            i += 1;
        }
        if i == seg_start {
            // Point at the dot that borders the empty segment.
            let at = if i < chars.len() { i } else { i - 1 };
            return Err((at, NameReason::EmptySegment));
        }
        if i == chars.len() {
            return Ok(prefix);
        }
        i += 1; // skip the dot
        seg_start = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (usize, NameReason) {
        let e = Pattern::parse(text).unwrap_err();
        (e.column, e.reason)
    }

    #[test]
    fn valid_patterns() {
        let p = Pattern::parse("a.b_1.c").unwrap();
        assert_eq!((p.name(), p.is_prefix()), ("a.b_1.c", false));
        let p = Pattern::parse("torch.*").unwrap();
        assert_eq!((p.name(), p.is_prefix()), ("torch", true));
        assert_eq!(p.to_string(), "torch.*");
        assert!(Pattern::parse("_private.ünï").is_ok());
    }

    #[test]
    fn invalid_patterns_name_the_column() {
        assert_eq!(err(""), (1, NameReason::Empty));
        assert_eq!(err("a..b"), (3, NameReason::EmptySegment));
        assert_eq!(err(".a"), (1, NameReason::EmptySegment));
        assert_eq!(err("a."), (2, NameReason::EmptySegment));
        assert_eq!(err("*"), (1, NameReason::MisplacedStar));
        assert_eq!(err("a*"), (2, NameReason::MisplacedStar));
        assert_eq!(err("a.*.b"), (3, NameReason::MisplacedStar));
        assert_eq!(err("a.b*"), (4, NameReason::MisplacedStar));
        assert_eq!(err("a.1b"), (3, NameReason::InvalidStart('1')));
        assert_eq!(err("a-b"), (2, NameReason::InvalidCharacter('-')));
        assert_eq!(err("ü.a-"), (4, NameReason::InvalidCharacter('-')));
    }

    #[test]
    fn matching() {
        let exact = Pattern::parse("pkg.sub").unwrap();
        assert!(exact.matches("pkg.sub"));
        assert!(!exact.matches("pkg.sub.x"));
        assert!(!exact.matches("pkg"));
        let prefix = Pattern::parse("pkg.*").unwrap();
        assert!(prefix.matches("pkg"));
        assert!(prefix.matches("pkg.sub.x"));
        assert!(!prefix.matches("pkgx"));
        assert!(!prefix.matches("pk"));
    }
}
