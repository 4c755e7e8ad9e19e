//! What the readers of tool lockfiles share: the text with its lines, and the values every lock
//! records (names, versions, markers, hashes, files) turned into the model, each error one line
//! at the line of the value.

use std::ops::Bound;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers, release_specifiers_to_ranges};
use pep508_rs::{ExtraName, MarkerTree, PackageName};
use pubgrub::Ranges;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::check::findings::{Code, Finding};
use crate::index::http::redact_text;
use crate::lockfile::{Artifact, Hash, LineIndex, Location, LockFormat, LockfileError, Package, Selector};

/// A lockfile's text, for locating what a reader finds in it.
pub(super) struct LockText<'a> {
    pub path: &'a Path,
    format: LockFormat,
    lines: LineIndex,
}

impl<'a> LockText<'a> {
    pub fn new(text: &str, path: &'a Path, format: LockFormat) -> Self {
        Self { path, format, lines: LineIndex::new(text) }
    }

    pub fn location(&self, offset: usize) -> Location {
        Location { file: self.path.to_path_buf(), line: self.lines.line(offset) }
    }

    /// The error at the line of `offset`; credentials in URLs of the message are hidden (a
    /// parser's message may quote a value).
    pub fn invalid(&self, offset: usize, message: impl Into<String>) -> LockfileError {
        LockfileError::invalid(self.path, self.lines.line(offset), redact_text(&message.into()))
    }

    /// The file is some other format (or none): said at its first line.
    pub fn not_this_format(&self, why: &str) -> LockfileError {
        LockfileError::invalid(
            self.path,
            1,
            format!(
                "does not look like a {}: {why}; pass --lock-format if it is another format",
                self.format.describe()
            ),
        )
    }

    /// `text` as TOML into `T`; a syntax or type error at the line of its span.
    pub fn toml<T: DeserializeOwned>(&self, text: &str) -> Result<T, LockfileError> {
        toml::from_str(text).map_err(|error| {
            if text.trim_start().starts_with('{') {
                return self.not_this_format("it is JSON, not TOML");
            }
            let offset = error.span().map_or(0, |span| span.start);
            self.invalid(offset, crate::requirement::one_line(&error.message()))
        })
    }

    pub fn name(&self, name: &str, offset: usize) -> Result<PackageName, LockfileError> {
        PackageName::from_str(name)
            .map_err(|error| self.invalid(offset, format!("`{name}` is not a package name: {error}")))
    }

    pub fn extra(&self, extra: &str, offset: usize) -> Result<ExtraName, LockfileError> {
        ExtraName::from_str(extra)
            .map_err(|error| self.invalid(offset, format!("`{extra}` is not an extra name: {error}")))
    }

    pub fn version(&self, version: &str, offset: usize) -> Result<Version, LockfileError> {
        Version::from_str(version)
            .map_err(|error| self.invalid(offset, format!("version `{version}` is not a PEP 440 version: {error}")))
    }

    /// A PEP 508 environment marker, parsed as the marker of a requirement (whose parser does not
    /// panic on untrusted text).
    pub fn marker(&self, marker: &str, offset: usize) -> Result<MarkerTree, LockfileError> {
        crate::requirement::parse(&format!("marker ; {marker}"))
            .map(|requirement| requirement.marker)
            .map_err(|error| self.invalid(offset, format!("`{marker}` is not a PEP 508 marker: {error}")))
    }

    /// `algorithm:hex`, as every lock tool writes hashes; lowercased.
    pub fn hash(&self, hash: &str, offset: usize) -> Result<Hash, LockfileError> {
        let parts = hash.split_once(':').filter(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !hex.is_empty()
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        let Some((algorithm, hex)) = parts else {
            return Err(
                self.invalid(offset, format!("`{hash}` is not a hash: write it as algorithm:hex, like sha256:…"))
            );
        };
        Ok(Hash {
            algorithm: algorithm.to_ascii_lowercase(),
            hex: hex.to_ascii_lowercase(),
            location: self.location(offset),
        })
    }

    /// A recorded file (`{file = NAME, hash = …}` or `{url = URL, hash = …}`); an empty hash
    /// is none.
    pub fn artifact(&self, entry: &Spanned<FileEntry>) -> Result<Artifact, LockfileError> {
        let at = entry.span().start;
        let FileEntry { file, url, hash } = entry.get_ref();
        let filename = match (file, url) {
            (Some(file), _) => file.clone(),
            (None, Some(url)) => reqwest::Url::parse(url)
                .ok()
                .as_ref()
                .and_then(crate::index::simple::last_segment)
                .ok_or_else(|| self.invalid(at, format!("`{}` is not the URL of a file", redact_text(url))))?,
            (None, None) => return Err(self.invalid(at, "a file entry needs a `file` or a `url`")),
        };
        let hashes = match hash {
            Some(hash) if !hash.get_ref().is_empty() => vec![self.hash(hash.get_ref(), hash.span().start)?],
            _ => Vec::new(),
        };
        Ok(Artifact {
            filename: Some(filename),
            url: url.clone(),
            hashes,
            size: None,
            upload_time: None,
            location: self.location(at),
        })
    }
}

/// A file entry of poetry.lock and pdm.lock.
#[derive(Deserialize)]
pub(super) struct FileEntry {
    file: Option<String>,
    url: Option<String>,
    hash: Option<Spanned<String>>,
}

impl FileEntry {
    /// The file name as the entry writes it (`file`), if it does.
    pub fn file_name(&self) -> Option<&str> {
        self.file.as_deref()
    }
}

/// The keys of a package entry of pdm.lock or Pipfile.lock that say it is not from an index.
#[derive(Deserialize)]
pub(super) struct SourceKeys {
    #[serde(default)]
    editable: bool,
    git: Option<String>,
    hg: Option<String>,
    svn: Option<String>,
    bzr: Option<String>,
    path: Option<String>,
    /// PDM's for a URL.
    url: Option<String>,
    /// Pipenv's for a URL.
    file: Option<String>,
}

impl SourceKeys {
    /// Where the package comes from when not from an index, as written (`git URL`, `path DIR`, …).
    pub fn non_index_source(&self) -> Option<String> {
        let sources = [
            ("git", &self.git),
            ("hg", &self.hg),
            ("svn", &self.svn),
            ("bzr", &self.bzr),
            ("path", &self.path),
            ("url", &self.url),
            ("file", &self.file),
        ];
        let source = sources.iter().find_map(|(kind, value)| Some(format!("{kind} {}", value.as_ref()?)));
        match (source, self.editable) {
            (Some(source), true) => Some(format!("editable {source}")),
            (None, true) => Some("an editable install".to_string()),
            (source, false) => source,
        }
    }
}

/// The finding for a package that does not come from an index, located at the package.
pub(super) fn unhashable(package: &Package) -> Option<Finding> {
    let source = package.non_index_source.as_deref()?;
    let what = match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.to_string(),
    };
    Some(
        Finding::new(
            Code::Unhashable,
            Some(&package.name),
            format!(
                "{what} comes from {}: no index vouches for it, so its hashes cannot be checked",
                redact_text(source)
            ),
        )
        .at(&package.location),
    )
}

/// The group a lock names, where `default` is the name the tool gives the project's own
/// dependencies.
pub(super) fn selector(group: &str, default: &str) -> Selector {
    if group == default { Selector::Default } else { Selector::group(group) }
}

/// A `requires-python` for Pythons that meet any of `alternatives` (PEP 440 specifier sets):
/// the one alternative as written, else the lowest bound of their union (the audit needs only the
/// lowest Python); none when that has no lower bound or one does not parse.
pub(super) fn any_of(alternatives: &[String]) -> Option<String> {
    if let [only] = alternatives {
        return Some(only.clone());
    }
    let mut union = Ranges::empty();
    for alternative in alternatives {
        union = union.union(&release_specifiers_to_ranges(VersionSpecifiers::from_str(alternative).ok()?));
    }
    match union.bounding_range()?.0 {
        Bound::Included(lowest) => Some(format!(">={lowest}")),
        Bound::Excluded(lowest) => Some(format!(">{lowest}")),
        Bound::Unbounded => None,
    }
}

/// For the readers' tests: where a sample says something, and random edits of samples for the
/// never-panic properties.
#[cfg(test)]
pub(super) mod test_support {
    use proptest::prelude::*;

    /// Asserts that each of `cases` (a text, and the line of its fault) is an error of one line
    /// at that line of `file`.
    pub fn assert_errors_at<E: std::fmt::Display>(
        cases: &[(String, usize)],
        file: &str,
        parse: impl Fn(&str) -> Result<crate::lockfile::Lockfile, E>,
    ) {
        for (text, line) in cases {
            let message = match parse(text) {
                Ok(_) => panic!("{file}:{line}: read without an error"),
                Err(error) => error.to_string(),
            };
            assert!(message.starts_with(&format!("{file}:{line}: ")), "{message}");
            assert!(!message.contains('\n') && !message.contains(" at line "), "{message}");
        }
    }

    /// The 1-based line of the only line of `text` containing `needle`.
    pub fn line_of(text: &str, needle: &str) -> usize {
        let lines: Vec<usize> =
            text.lines().enumerate().filter(|(_, l)| l.contains(needle)).map(|(i, _)| i + 1).collect();
        assert_eq!(lines.len(), 1, "{needle:?} is on lines {lines:?}");
        lines[0]
    }

    /// Text replaced at a point, or a whole line dropped or doubled (which keeps the syntax, and
    /// so reaches deeper).
    pub type Edit = (prop::sample::Index, u8, String);

    pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
        prop::collection::vec((any::<prop::sample::Index>(), 0..6u8, "[\"=\\[\\]{}#,.:\n a-z0-9é]{0,3}"), 1..6)
    }

    pub fn apply(sample: &str, edits: &[Edit]) -> String {
        let mut text = sample.to_string();
        for (at, kind, inserted) in edits {
            let start = text.floor_char_boundary(at.index(text.len() + 1));
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i + 1);
            match kind {
                0 => text.replace_range(line_start..line_end, ""),
                1 => {
                    let line = text[line_start..line_end].to_string();
                    text.insert_str(line_start, &line);
                }
                removed => {
                    let end = text.floor_char_boundary((start + usize::from(*removed) - 2).min(text.len()));
                    text.replace_range(start..end, inserted);
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(source: &str) -> LockText<'static> {
        LockText::new(source, Path::new("x.lock"), LockFormat::Poetry)
    }

    #[test]
    fn hashes_are_algorithm_colon_hex() {
        let lock = text("a\nb = 'SHA256:AB'\n");
        let hash = lock.hash("SHA256:AB", 4).unwrap();
        assert_eq!((hash.algorithm.as_str(), hash.hex.as_str(), hash.location.line), ("sha256", "ab", 2));
        for bad in ["sha256", "sha256:", ":ab", "sha256:xyz", "sha 256:ab"] {
            let message = lock.hash(bad, 4).unwrap_err().to_string();
            assert_eq!(message, format!("x.lock:2: `{bad}` is not a hash: write it as algorithm:hex, like sha256:…"));
        }
    }

    #[test]
    fn alternatives_give_their_lowest_lower_bound() {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(any_of(&strings(&[">=3.8,<4.0"])).as_deref(), Some(">=3.8,<4.0"));
        assert_eq!(any_of(&strings(&[">=3.9", "==3.7.*", ">3.8,<3.9"])).as_deref(), Some(">=3.7"));
        assert_eq!(any_of(&strings(&[">=3.9", ">3.8,!=3.8.1"])).as_deref(), Some(">3.8"));
        assert_eq!(any_of(&strings(&[">=3.9", "<3"])), None);
        assert_eq!(any_of(&strings(&[">=3.9", "bad"])), None);
        assert_eq!(any_of(&[]), None);
    }

    #[test]
    fn markers_parse_without_panicking_and_errors_are_located() {
        let lock = text("x\ny\n");
        assert_eq!(
            lock.marker("sys_platform == 'win32'", 0).unwrap().try_to_string().as_deref(),
            Some("sys_platform == 'win32'")
        );
        let message = lock.marker("python_version >< 'é'", 2).unwrap_err().to_string();
        assert!(message.starts_with("x.lock:2: `python_version >< 'é'` is not a PEP 508 marker: "), "{message}");
        assert!(!message.contains('\n'));
    }
}
