//! The line-based policy text format and its errors.
//!
//! # Format
//!
//! ```text
//! # comments run from '#' to the end of the line; blank lines are ignored
//! mode all                      # none | normal | all (at most once; default normal)
//! eager-target torch.*          # target opt-out, prefix: torch and all its submodules
//! eager-target pkg_resources    # target opt-out, exact name
//! eager-importer myapp.plugins  # importer opt-out, shallow (not myapp.plugins.x)
//! eager-importer vendor.*       # importer opt-out for vendor and all its submodules
//! lazy-target numpy             # target opt-in
//! lazy-importer myapp.cli       # importer opt-in (the __lazy_modules__ idea)
//! ```
//!
//! * A statement is a keyword followed by exactly one argument, separated by
//!   spaces or tabs. Keywords and modes are case-sensitive.
//! * `;` also separates statements, so a policy fits on one shell line
//!   (`mode all; eager-target torch.*`). Line numbers in errors count
//!   physical lines (`\n`); the column locates the statement within its line.
//! * Columns are 1-based and count characters, not bytes.
//! * Module patterns are dotted identifiers, optionally ending in `.*`.
//! * Repeating a rule is harmless; conflicting rules are resolved by the
//!   precedence order (opt-outs beat opt-ins). A second `mode` statement is
//!   an error.
//! * Every unknown keyword, unknown mode, missing argument, extra token or
//!   malformed module name is an error naming the line, the column and the
//!   offending text; nothing is silently ignored.

use std::fmt;

use super::builder::{Policy, PolicyBuilder};
use super::mode::Mode;
use super::pattern::{NameReason, Pattern};
use super::rules::RuleKind;

/// What is wrong with a policy statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// The first word of a statement is not a known keyword.
    UnknownRuleKind,
    /// The argument of `mode` is not `none`, `normal` or `all`.
    UnknownMode,
    /// A keyword has no argument.
    MissingArgument,
    /// A statement has more than one argument.
    TrailingToken,
    /// A module pattern is malformed.
    InvalidName(NameReason),
    /// `mode` appears a second time; `first_line` is where it first appeared.
    DuplicateMode {
        /// Line of the first `mode` statement.
        first_line: usize,
    },
    /// `mode` in text that may hold rules only ([`Policy::parse_rules`]).
    ModeNotAllowed,
}

/// Malformed policy text: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based physical line number.
    pub line: usize,
    /// 1-based column, in characters, of the offending text (for a bad
    /// module name: of the offending character inside the name).
    pub column: usize,
    /// The offending token (for a missing argument: the keyword).
    pub text: String,
    /// What is wrong.
    pub kind: PolicyErrorKind,
}

const KEYWORDS: &str = "mode, eager-target, lazy-target, eager-importer, lazy-importer";

impl fmt::Display for PolicyError {
    /// E.g. `policy line 3, column 1: unknown rule kind 'eagr-target' (expected one of ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy line {}, column {}: ", self.line, self.column)?;
        let t = &self.text;
        match self.kind {
            PolicyErrorKind::UnknownRuleKind => {
                write!(f, "unknown rule kind '{t}' (expected one of {KEYWORDS})")
            }
            PolicyErrorKind::UnknownMode => {
                write!(f, "unknown mode '{t}' (expected one of none, normal, all)")
            }
            PolicyErrorKind::MissingArgument => write!(f, "'{t}' needs an argument"),
            PolicyErrorKind::TrailingToken => {
                write!(
                    f,
                    "unexpected extra text '{t}' (one argument per statement)"
                )
            }
            PolicyErrorKind::InvalidName(reason) => {
                write!(f, "invalid module name '{t}': {reason}")
            }
            PolicyErrorKind::DuplicateMode { first_line } => {
                write!(
                    f,
                    "duplicate 'mode' statement (mode was already set on line {first_line})"
                )
            }
            PolicyErrorKind::ModeNotAllowed => {
                write!(f, "'mode' is not allowed here: only rules can be added")
            }
        }
    }
}

impl std::error::Error for PolicyError {}

impl Policy {
    /// Parses policy text (see [the format](crate::policy::parse)).
    ///
    /// # Errors
    /// Returns the first [`PolicyError`], with line, column and offending
    /// text, for an unknown keyword or mode, a missing or extra argument, a
    /// malformed module pattern or a second `mode` statement.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        Parser::new(false).run(text)
    }

    /// Parses policy text that holds rules only (mode `normal`): for rules
    /// added to a policy in force with [`ActivePolicy::add_rules`](super::ActivePolicy::add_rules).
    ///
    /// # Errors
    /// As [`Policy::parse`], and [`PolicyErrorKind::ModeNotAllowed`] for a
    /// `mode` statement.
    pub fn parse_rules(text: &str) -> Result<Policy, PolicyError> {
        Parser::new(true).run(text)
    }
}

struct Parser {
    builder: PolicyBuilder,
    mode_line: Option<usize>,
    rules_only: bool,
}

impl Parser {
    fn new(rules_only: bool) -> Parser {
        Parser {
            builder: PolicyBuilder::new(),
            mode_line: None,
            rules_only,
        }
    }

    fn run(mut self, text: &str) -> Result<Policy, PolicyError> {
        for (index, raw) in text.split('\n').enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let body = line.find('#').map_or(line, |i| &line[..i]);
            let mut offset = 0;
            for stmt in body.split(';') {
                self.statement(index + 1, line, offset, stmt)?;
                offset += stmt.len() + 1;
            }
        }
        Ok(self.builder.build())
    }
}

/// A token and its byte offset in the physical line.
type Token<'a> = (usize, &'a str);

fn tokens(offset: usize, stmt: &str) -> impl Iterator<Item = Token<'_>> {
    let mut rest = stmt;
    let mut at = offset;
    std::iter::from_fn(move || {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        at += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            return None;
        }
        let len = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
        let tok = (at, &trimmed[..len]);
        at += len;
        rest = &trimmed[len..];
        Some(tok)
    })
}

fn column(line: &str, byte: usize) -> usize {
    line[..byte].chars().count() + 1
}

impl Parser {
    fn statement(
        &mut self,
        line_no: usize,
        line: &str,
        offset: usize,
        stmt: &str,
    ) -> Result<(), PolicyError> {
        let err = |byte: usize, text: &str, kind| PolicyError {
            line: line_no,
            column: column(line, byte),
            text: text.to_owned(),
            kind,
        };
        let mut toks = tokens(offset, stmt);
        let Some((kw_at, kw)) = toks.next() else {
            return Ok(());
        };
        let Some((arg_at, arg)) = toks.next() else {
            let known = kw == "mode" || kw.parse::<RuleKind>().is_ok();
            return Err(if known {
                err(kw_at + kw.len(), kw, PolicyErrorKind::MissingArgument)
            } else {
                err(kw_at, kw, PolicyErrorKind::UnknownRuleKind)
            });
        };
        let kind = if kw == "mode" {
            None
        } else {
            match kw.parse::<RuleKind>() {
                Ok(k) => Some(k),
                Err(_) => return Err(err(kw_at, kw, PolicyErrorKind::UnknownRuleKind)),
            }
        };
        if let Some((extra_at, extra)) = toks.next() {
            return Err(err(extra_at, extra, PolicyErrorKind::TrailingToken));
        }
        match kind {
            None => {
                if self.rules_only {
                    return Err(err(kw_at, kw, PolicyErrorKind::ModeNotAllowed));
                }
                if let Some(first_line) = self.mode_line {
                    return Err(err(
                        kw_at,
                        kw,
                        PolicyErrorKind::DuplicateMode { first_line },
                    ));
                }
                let mode = arg
                    .parse::<Mode>()
                    .map_err(|_| err(arg_at, arg, PolicyErrorKind::UnknownMode))?;
                self.mode_line = Some(line_no);
                self.builder = std::mem::take(&mut self.builder).mode(mode);
            }
            Some(kind) => {
                let pattern = Pattern::parse(arg).map_err(|e| {
                    let mut pe = err(arg_at, arg, PolicyErrorKind::InvalidName(e.reason));
                    pe.column += e.column - 1;
                    pe
                })?;
                self.builder = std::mem::take(&mut self.builder).pattern(kind, pattern);
            }
        }
        Ok(())
    }
}
