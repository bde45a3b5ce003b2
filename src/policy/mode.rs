//! The laziness mode: `none`, `normal` or `all`.

use std::fmt;
use std::str::FromStr;

/// How much laziness a policy allows before any rule is consulted.
///
/// | mode     | plain import | import marked lazy | opted-in import |
/// |----------|--------------|--------------------|-----------------|
/// | `none`   | eager        | eager              | eager           |
/// | `normal` | eager        | deferred           | deferred        |
/// | `all`    | deferred     | deferred           | deferred        |
///
/// Contexts that are never lazy, eager scopes and opt-outs still win over
/// every mode (see the precedence table in [`crate::policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Every import is eager; rules and the filter are not consulted.
    None,
    /// Only imports marked lazy (PEP 810's `lazy import`) or opted in by a
    /// rule are deferred. This is the default.
    #[default]
    Normal,
    /// Every eligible import is deferred unless a rule or the filter says
    /// otherwise.
    All,
}

impl Mode {
    /// Every mode, in the order `none`, `normal`, `all`.
    pub const ALL: [Mode; 3] = [Mode::None, Mode::Normal, Mode::All];

    /// The keyword used for this mode in policy text (`none`, `normal`, `all`).
    pub const fn keyword(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Normal => "normal",
            Mode::All => "all",
        }
    }
}

impl fmt::Display for Mode {
    /// Writes the policy-text keyword, so `Display` and [`FromStr`] round-trip.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The text given to [`Mode::from_str`] is not `none`, `normal` or `all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode '{text}' (expected one of none, normal, all)")]
pub struct ParseModeError {
    /// The rejected text, unchanged.
    pub text: String,
}

impl FromStr for Mode {
    type Err = ParseModeError;

    /// Parses a mode keyword. Matching is exact and case-sensitive.
    ///
    /// # Errors
    /// Returns [`ParseModeError`] for anything but `none`, `normal` or `all`;
    /// an unknown mode is never mapped to a default.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Mode::None),
            "normal" => Ok(Mode::Normal),
            "all" => Ok(Mode::All),
            _ => Err(ParseModeError { text: s.to_owned() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_from_str_round_trip() {
        for mode in Mode::ALL {
            assert_eq!(mode.to_string().parse::<Mode>(), Ok(mode));
        }
    }

    #[test]
    fn unknown_mode_is_an_error() {
        let err = "None".parse::<Mode>().unwrap_err();
        assert_eq!(err.text, "None");
        assert!(err.to_string().contains("'None'"));
        assert!("".parse::<Mode>().is_err());
    }

    #[test]
    fn default_is_normal() {
        assert_eq!(Mode::default(), Mode::Normal);
    }
}
