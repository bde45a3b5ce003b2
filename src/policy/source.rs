//! Loading a policy from the environment or a file.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::builder::Policy;
use super::parse::PolicyError;

/// The environment variable read by [`Policy::from_env`].
pub const ENV_VAR: &str = "LAZY_BIND_POLICY";

/// A policy could not be loaded from the environment or a file.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The policy text in the environment variable is malformed.
    Env(PolicyError),
    /// The policy file is malformed.
    File {
        /// The file, as given.
        path: PathBuf,
        /// Where and what.
        error: PolicyError,
    },
    /// The policy file could not be read.
    Io {
        /// The file, as given.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The environment variable is not valid Unicode.
    NotUnicode,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Env(e) => write!(f, "{ENV_VAR}: {e}"),
            LoadError::File { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Io { path, source } => {
                write!(f, "cannot read policy file '{}': {source}", path.display())
            }
            LoadError::NotUnicode => write!(f, "{ENV_VAR} is not valid Unicode"),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Env(e) | LoadError::File { error: e, .. } => Some(e),
            LoadError::Io { source, .. } => Some(source),
            LoadError::NotUnicode => None,
        }
    }
}

impl Policy {
    /// Reads the policy file at `path`.
    ///
    /// # Errors
    /// [`LoadError::Io`] naming the path if it cannot be read (or is not
    /// UTF-8), [`LoadError::File`] naming the path if its text is malformed.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Policy, LoadError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(&text).map_err(|error| LoadError::File {
            path: path.to_owned(),
            error,
        })
    }

    /// Reads the policy from the `LAZY_BIND_POLICY` environment variable; see
    /// [`Policy::from_env_value`] for its meaning.
    ///
    /// # Errors
    /// As [`Policy::from_env_value`].
    pub fn from_env() -> Result<Option<Policy>, LoadError> {
        Policy::from_env_value(std::env::var_os(ENV_VAR).as_deref())
    }

    /// Interprets a value of `LAZY_BIND_POLICY` without touching the process
    /// environment.
    ///
    /// * unset (`None`) or only whitespace: `Ok(None)`, no policy given;
    /// * `@path` (leading and trailing whitespace ignored): the policy file
    ///   at `path`;
    /// * anything else: policy text, where `;` may separate statements.
    ///
    /// # Errors
    /// [`LoadError::NotUnicode`], [`LoadError::Env`] for malformed text, and
    /// the errors of [`Policy::from_file`] for `@path`.
    pub fn from_env_value(value: Option<&OsStr>) -> Result<Option<Policy>, LoadError> {
        let Some(value) = value else {
            return Ok(None);
        };
        let text = value.to_str().ok_or(LoadError::NotUnicode)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if let Some(path) = trimmed.strip_prefix('@') {
            return Policy::from_file(path.trim()).map(Some);
        }
        Policy::parse(text).map(Some).map_err(LoadError::Env)
    }
}
