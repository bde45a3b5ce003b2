//! What a run observes, in a fixed line format shared by every runtime.

use std::fmt;

/// An error as the kit classifies it: the innermost cause of what a
/// statement raised.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `RuntimeError` raised by the body of the named module (`raise`).
    Raised(String),
    /// `AttributeError` for the named attribute.
    Attribute(String),
    /// `ImportError` "cannot import name ... from M", naming module `M`.
    ImportName(String),
    /// `NameError` for the named global.
    Name(String),
    /// A lazy binding needed itself while resolving
    /// ([`Error::Cycle`](crate::Error::Cycle)).
    Cycle,
    /// Anything else, described by the runtime (a kit bug or a runtime bug).
    Other(String),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Raised(module) => write!(f, "raised {module}"),
            ErrorKind::Attribute(name) => write!(f, "attribute {name}"),
            ErrorKind::ImportName(module) => write!(f, "import-name {module}"),
            ErrorKind::Name(name) => write!(f, "name {name}"),
            ErrorKind::Cycle => f.write_str("cycle"),
            ErrorKind::Other(text) => write!(f, "other {text}"),
        }
    }
}

impl std::error::Error for ErrorKind {}

/// One observation of a run.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// The body of the named module started running.
    Ran(String),
    /// An observation read `value` (formatted: `5`, `<module p.a>`,
    /// `[m, n]`, `<function p.a.f>`).
    Value {
        /// The statement's label (`module:line`, see [`label`](super::label)).
        label: String,
        /// The formatted value.
        value: String,
    },
    /// A statement of the main script raised.
    Error {
        /// The main statement's label.
        label: String,
        /// The error.
        kind: ErrorKind,
    },
}

impl fmt::Display for Event {
    /// One line: `ran NAME`, `value LABEL VALUE` or `error LABEL KIND`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Ran(module) => write!(f, "ran {module}"),
            Event::Value { label, value } => write!(f, "value {label} {value}"),
            Event::Error { label, kind } => write!(f, "error {label} {kind}"),
        }
    }
}

/// The observations of one run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace(pub Vec<Event>);

impl fmt::Display for Trace {
    /// One event per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in &self.0 {
            writeln!(f, "{event}")?;
        }
        Ok(())
    }
}

/// A line of runtime output that is not an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: not a conformance event: {text:?}")]
pub struct ParseTraceError {
    /// The 1-based line number.
    pub line: usize,
    /// The line.
    pub text: String,
}

impl Trace {
    /// Parses the line format written by [`Trace`]'s `Display` (what the
    /// generated Python `main.py` prints).
    ///
    /// # Errors
    /// [`ParseTraceError`] for the first line that is not an event.
    pub fn parse(text: &str) -> Result<Trace, ParseTraceError> {
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                parse_event(line).ok_or_else(|| ParseTraceError {
                    line: i + 1,
                    text: line.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Trace)
    }

    /// The index of the first event where `self` and `other` differ (the
    /// shorter length if one is a prefix of the other), or `None` if equal.
    pub fn first_difference(&self, other: &Trace) -> Option<usize> {
        if self == other {
            return None;
        }
        let same = self.0.iter().zip(&other.0).take_while(|(a, b)| a == b);
        Some(same.count())
    }
}

fn parse_event(line: &str) -> Option<Event> {
    let (word, rest) = line.split_once(' ')?;
    match word {
        "ran" => Some(Event::Ran(rest.to_owned())),
        "value" => {
            let (label, value) = rest.split_once(' ')?;
            Some(Event::Value {
                label: label.to_owned(),
                value: value.to_owned(),
            })
        }
        "error" => {
            let (label, kind) = rest.split_once(' ')?;
            let (kind, arg) = kind.split_once(' ').unwrap_or((kind, ""));
            let arg = arg.to_owned();
            let kind = match kind {
                "raised" => ErrorKind::Raised(arg),
                "attribute" => ErrorKind::Attribute(arg),
                "import-name" => ErrorKind::ImportName(arg),
                "name" => ErrorKind::Name(arg),
                "cycle" => ErrorKind::Cycle,
                "other" => ErrorKind::Other(arg),
                _ => return None,
            };
            Some(Event::Error {
                label: label.to_owned(),
                kind,
            })
        }
        _ => None,
    }
}
