//! Lockfiles as written: one model for every format ([`Lockfile`]), and one reader per format.
//! The checks (`crate::check`) work on the model, so a format is added here and nowhere else.
//!
//! Each reader keeps the file and line of every package, artifact and hash, so that a finding
//! points at a line; it tolerates keys it does not know and refuses versions it does not.

pub mod pdm;
pub mod pipfile;
pub mod poetry;
pub mod pylock;
mod reader;
pub mod requirements;
pub mod uv;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerTree, PackageName};

use crate::check::findings::Finding;
use crate::lockfile::requirements::{FormatControl, ReqFileError};

/// A line in a lockfile, for messages: `requirements.txt:12`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based; for an item split over several lines, its first line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One recorded hash. The algorithm and the hex are lowercased (pip and every lock tool compare
/// case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hash {
    pub algorithm: String,
    pub hex: String,
    pub location: Location,
}

/// The formats hashlock reads. `--lock-format` names them as here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum LockFormat {
    /// pip requirements file (`--hash` options).
    Requirements,
    /// PEP 751 `pylock.toml` / `pylock.NAME.toml`.
    Pylock,
    /// uv's `uv.lock`.
    Uv,
    /// Poetry's `poetry.lock`.
    Poetry,
    /// PDM's `pdm.lock`.
    Pdm,
    /// Pipenv's `Pipfile.lock`.
    Pipfile,
}

impl LockFormat {
    /// The format a file name says; anything unrecognised is a requirements file, as pip takes
    /// any name after `-r`.
    pub fn from_path(path: &Path) -> Self {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        match name.as_str() {
            "uv.lock" => Self::Uv,
            "poetry.lock" => Self::Poetry,
            "pdm.lock" => Self::Pdm,
            "pipfile.lock" => Self::Pipfile,
            _ if is_lock_name(path) => Self::Pylock,
            _ => Self::Requirements,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Requirements => "requirements file",
            Self::Pylock => "pylock.toml (PEP 751)",
            Self::Uv => "uv.lock",
            Self::Poetry => "poetry.lock",
            Self::Pdm => "pdm.lock",
            Self::Pipfile => "Pipfile.lock",
        }
    }
}

/// Whether pip reads a file of this name as a PEP 751 lock (`pylock.toml`, `pylock.NAME.toml`
/// with no dot in NAME, exactly so): any other name it reads as a requirements file.
pub fn is_lock_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else { return false };
    let named = name.strip_prefix("pylock.").and_then(|rest| rest.strip_suffix(".toml"));
    name == "pylock.toml" || named.is_some_and(|named| !named.is_empty() && !named.contains('.'))
}

/// A lockfile as written, in any format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockfile {
    pub path: PathBuf,
    pub format: LockFormat,
    /// Resolved for several environments (markers say where each package applies), as uv,
    /// Poetry, PDM and pylock.toml lock; a requirements file or Pipfile.lock is for one.
    pub universal: bool,
    /// The lock's own `requires-python` (PEP 440 specifiers as written), when it records one.
    pub requires_python: Option<String>,
    /// The environments the lock is for (pylock `environments`, uv `supported-markers`);
    /// empty: every one.
    pub environments: Vec<MarkerTree>,
    /// The Python version a single-environment lock was made for (Pipfile.lock
    /// `_meta.requires.python_version`), e.g. `3.11`.
    pub python_version: Option<String>,
    /// The indexes the lock says it was resolved against, in its order, as written (may carry
    /// credentials: redact before display).
    pub indexes: Vec<String>,
    pub packages: Vec<Package>,
    /// What the reader found from the file alone (for requirements files: options, orphaned
    /// hashes, unpinned or editable lines), located.
    pub findings: Vec<Finding>,
    /// pip's `--no-binary` / `--only-binary` as the file sets them (requirements files only).
    pub format_control: FormatControl,
    /// `${NAME}` references the file expanded (requirements files, Pipfile.lock source URLs),
    /// by the value they expanded to: see
    /// [`Lockfile::as_written`].
    pub(crate) expanded: BTreeMap<String, String>,
}

/// One package the lock pins (or, in a requirements file, names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: PackageName,
    /// `None` when the file does not pin one exact version (requirements files; the reader has
    /// already made the finding).
    pub version: Option<Version>,
    /// Where the package applies (true: everywhere).
    pub marker: MarkerTree,
    /// Extras the lock installs it with, where the format records them: they decide which of
    /// its dependencies must be locked too.
    pub extras: Vec<ExtraName>,
    /// The index the lock records for this package, as written.
    pub index: Option<String>,
    /// The recorded files. A hash recorded for the package rather than for a named file
    /// (requirements files, Pipfile.lock) is an artifact without a filename.
    pub artifacts: Vec<Artifact>,
    /// The names of the package's dependencies the lock records, where it records them.
    pub dependencies: Option<Vec<PackageName>>,
    /// What the package is locked for, where the format records it (empty: always).
    pub groups: BTreeSet<Selector>,
    /// Not from an index (a path, Git, URL or editable source), as written: nothing on an index
    /// can vouch for it. The reader makes the `unhashable` finding.
    pub non_index_source: Option<String>,
    /// The Trusted Publishers its files must be attested by (pylock.toml's
    /// `attestation-identities`; empty where the lock records none).
    pub attestation_identities: Vec<crate::index::provenance::Publisher>,
    pub location: Location,
}

/// A dependency group or extra a package is locked for (`--group` / `--extra` select them).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Selector {
    /// The project's own dependencies (Poetry's `main`, PDM's `default`, Pipfile `default`).
    Default,
    /// A dependency group (PEP 735, Poetry group, PDM dev group, Pipfile `develop`).
    Group(String),
    /// An extra (optional dependencies) of the project.
    Extra(String),
}

impl Package {
    /// A package of that name at `location` with nothing else recorded, for tests to fill.
    #[cfg(test)]
    pub(crate) fn named(name: &str, location: Location) -> Self {
        Self {
            name: name.parse().expect("a package name"),
            version: None,
            marker: MarkerTree::TRUE,
            extras: Vec::new(),
            index: None,
            artifacts: Vec::new(),
            dependencies: None,
            groups: BTreeSet::new(),
            non_index_source: None,
            attestation_identities: Vec::new(),
            location,
        }
    }
}

impl Selector {
    /// A group by its name, normalised as PEP 735 (and PEP 503) normalise names.
    pub fn group(name: &str) -> Self {
        Self::Group(normalize_name(name))
    }

    pub fn extra(name: &str) -> Self {
        Self::Extra(normalize_name(name))
    }
}

/// Lowercase, with every run of `-`, `_` and `.` one `-`.
fn normalize_name(name: &str) -> String {
    let mut normal = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normal.ends_with('-') {
                normal.push('-');
            }
        } else {
            normal.push(c.to_ascii_lowercase());
        }
    }
    normal
}

/// A recorded file of a package, or a set of hashes recorded for the package as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The file name (from the lock, or the last segment of its URL); `None` for hashes that
    /// stand for any file of the version.
    pub filename: Option<String>,
    pub url: Option<String>,
    pub hashes: Vec<Hash>,
    pub size: Option<u64>,
    /// PEP 700 `upload-time`, as written.
    pub upload_time: Option<String>,
    pub location: Location,
}

impl Lockfile {
    /// An empty lock of `format` at `path`, for readers to fill.
    pub fn new(path: &Path, format: LockFormat) -> Self {
        Self {
            path: path.to_path_buf(),
            format,
            universal: false,
            requires_python: None,
            python_version: None,
            environments: Vec::new(),
            indexes: Vec::new(),
            packages: Vec::new(),
            findings: Vec::new(),
            format_control: FormatControl::default(),
            expanded: BTreeMap::new(),
        }
    }

    /// `text` (a message) with every value taken from a `${NAME}` variable shown as `${NAME}`
    /// again: tokens live in those variables, and a message must not put one in a CI log.
    pub fn as_written(&self, text: &str) -> String {
        requirements::as_written(text, &self.expanded)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    #[error("{path}: cannot read")]
    Read { path: String, source: std::io::Error },
    /// Malformed, or a version of the format hashlock does not read.
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    #[error(transparent)]
    Requirements(#[from] ReqFileError),
}

impl LockfileError {
    pub fn invalid(file: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::Invalid { location: Location { file: file.to_path_buf(), line }, message: message.into() }
    }
}

/// Reads the lockfile at `path`, in `format` or else the one its name says.
pub fn read(path: &Path, format: Option<LockFormat>) -> Result<Lockfile, LockfileError> {
    let format = format.unwrap_or_else(|| LockFormat::from_path(path));
    if format == LockFormat::Requirements {
        // Includes are read relative to the file, so the requirements reader reads it itself.
        return requirements::read(path);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|source| LockfileError::Read { path: path.display().to_string(), source })?;
    parse(&text, path, format)
}

/// Parses `text` as the contents of `path`, in `format`.
pub fn parse(text: &str, path: &Path, format: LockFormat) -> Result<Lockfile, LockfileError> {
    match format {
        LockFormat::Requirements => requirements::parse(text, path),
        LockFormat::Pylock => pylock::parse(text, path),
        LockFormat::Uv => uv::parse(text, path),
        LockFormat::Poetry => poetry::parse(text, path),
        LockFormat::Pdm => pdm::parse(text, path),
        LockFormat::Pipfile => pipfile::parse(text, path),
    }
}

/// Byte offset → 1-based line, for readers whose parsers give spans (TOML).
pub struct LineIndex {
    /// Offsets at which lines 2, 3, … start.
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        Self { starts: text.match_indices('\n').map(|(offset, _)| offset + 1).collect() }
    }

    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_file_name() {
        let format = |name: &str| LockFormat::from_path(Path::new(name));
        assert_eq!(format("dir/uv.lock"), LockFormat::Uv);
        assert_eq!(format("Pipfile.lock"), LockFormat::Pipfile);
        assert_eq!(format("pylock.toml"), LockFormat::Pylock);
        assert_eq!(format("pylock.dev.toml"), LockFormat::Pylock);
        assert_eq!(format("pylock.a.b.toml"), LockFormat::Requirements, "as pip reads it");
        assert_eq!(format("pylock-toml"), LockFormat::Requirements);
        assert_eq!(format("requirements.lock"), LockFormat::Requirements);
    }

    #[test]
    fn pip_reads_only_these_names_as_locks() {
        for name in ["pylock.toml", "pylock.dev.toml", "dir.d/pylock.a-b_c.toml"] {
            assert!(is_lock_name(Path::new(name)), "{name}");
        }
        for name in [
            "pylock..toml",
            "pylock.a.b.toml",
            "PYLOCK.TOML",
            "Pylock.toml",
            "pylock.toml.txt",
            "lock.toml",
            "pylock.toml/",
        ] {
            assert_eq!(is_lock_name(Path::new(name)), name == "pylock.toml/", "{name}");
        }
    }

    #[test]
    fn group_names_are_normalised() {
        assert_eq!(Selector::group("Dev_Tools..x"), Selector::Group("dev-tools-x".to_string()));
    }

    #[test]
    fn offsets_map_to_lines() {
        let lines = LineIndex::new("a\nbc\n\nd");
        assert_eq!([0, 1, 2, 4, 5, 6].map(|offset| lines.line(offset)), [1, 1, 2, 2, 3, 4]);
    }
}
