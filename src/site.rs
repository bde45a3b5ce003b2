//! Where a lazy binding was declared and where it was first used.

use std::fmt;
use std::sync::Arc;

/// A source location: a file name and a 1-based line number.
///
/// Cloning is cheap (the file name is reference counted). A line of `0`
/// means "line unknown" and is not printed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    file: Arc<str>,
    line: u32,
}

impl Site {
    /// Creates a site for `file` at `line` (1-based; `0` when unknown).
    pub fn new(file: impl Into<Arc<str>>, line: u32) -> Self {
        Site {
            file: file.into(),
            line,
        }
    }

    /// A site for code whose location the runtime does not know.
    pub fn unknown() -> Self {
        Site::new("<unknown>", 0)
    }

    /// The file name, as the runtime gave it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line number, or `0` when unknown.
    pub fn line(&self) -> u32 {
        self.line
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// What an entry stands for: a name (for imports, the module or attribute) and
/// the site of the statement that deferred it.
///
/// Shared by reference count between the entry, its errors and its trace events.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Declaration {
    name: Arc<str>,
    site: Site,
}

impl Declaration {
    /// Creates a declaration of `name` made at `site`.
    pub fn new(name: impl Into<Arc<str>>, site: Site) -> Self {
        Declaration {
            name: name.into(),
            site,
        }
    }

    /// The name the entry stands for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the entry was declared.
    pub fn site(&self) -> &Site {
        &self.site
    }
}

impl fmt::Display for Declaration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' (declared at {})", self.name, self.site)
    }
}
