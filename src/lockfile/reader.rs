//! What the readers of lockfiles share: the text with its lines, and the values every lock
//! records (names, versions, markers, hashes, files, sources) turned into the model, each error
//! one line at the line of the value.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers, release_specifiers_to_ranges};
use pep508_rs::{ExtraName, MarkerExpression, MarkerTree, PackageName};
use pubgrub::Ranges;
use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::check::findings::{Code, Finding, Severity};
use crate::index::http::redact_text;
use crate::index::simple::last_segment;
use crate::lock::PIP_ALGORITHMS;
use crate::lockfile::{Artifact, Hash, LineIndex, Location, LockFormat, LockfileError, Package, Selector};

/// A lockfile's text, for reading it and locating what a reader finds in it.
pub(super) struct LockText<'a> {
    pub path: &'a Path,
    text: &'a str,
    format: LockFormat,
    lines: LineIndex,
}

impl<'a> LockText<'a> {
    pub fn new(text: &'a str, path: &'a Path, format: LockFormat) -> Self {
        Self { path, text, format, lines: LineIndex::new(text) }
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

    /// The whole text as TOML into `T`; a syntax or type error at the line of its span.
    pub fn toml<T: DeserializeOwned>(&self) -> Result<T, LockfileError> {
        toml::from_str(self.text).map_err(|error| {
            if self.text.trim_start().starts_with('{') {
                return self.not_this_format("it is JSON, not TOML");
            }
            let offset = error.span().map_or(0, |span| span.start);
            // serde names the Rust type it expected (`expected struct FileTable`): say what it is.
            let message = crate::requirement::one_line(&error.message());
            let message = match message.find("expected struct ") {
                Some(at) => format!("{}expected a table", &message[..at]),
                None => message,
            };
            self.invalid(offset, message)
        })
    }

    /// Refuses the lock unless the format version it records under `key` is `supported`;
    /// `reads` says which versions hashlock reads.
    pub fn check_format_version(
        &self,
        version: &Spanned<toml::Value>,
        key: &str,
        reads: &str,
        supported: impl Fn(&toml::Value) -> bool,
    ) -> Result<(), LockfileError> {
        if supported(version.get_ref()) {
            return Ok(());
        }
        Err(self.unsupported_version(version.span().start, key, &as_text(version.get_ref()), reads))
    }

    /// The format version `version`, recorded under `key` at `offset`, is not one hashlock reads.
    pub fn unsupported_version(&self, offset: usize, key: &str, version: &str, reads: &str) -> LockfileError {
        self.invalid(offset, format!("{key} {version} is not supported: hashlock reads {reads}"))
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

    /// A PEP 508 environment marker ([`parse_marker`]).
    pub fn marker(&self, marker: &str, offset: usize) -> Result<MarkerTree, LockfileError> {
        parse_marker(marker).map_err(|error| self.invalid_marker(marker, offset, &error))
    }

    /// `marker`, at `offset`, does not parse: `error` says why.
    pub fn invalid_marker(&self, marker: &str, offset: usize, error: &str) -> LockfileError {
        self.invalid(offset, format!("`{marker}` is not a PEP 508 marker: {error}"))
    }

    /// `algorithm:hex`, as most lock tools write hashes; lowercased.
    pub fn hash(&self, hash: &str, offset: usize) -> Result<Hash, LockfileError> {
        hash.split_once(':').and_then(|(algorithm, hex)| self.valid_hash(algorithm, hex, offset)).ok_or_else(|| {
            self.invalid(offset, format!("`{hash}` is not a hash: write it as algorithm:hex, like sha256:…"))
        })
    }

    /// A hash written as an algorithm's name and its hex digest apart (pylock's `hashes`
    /// table); lowercased.
    pub fn hash_of(&self, algorithm: &str, hex: &str, offset: usize) -> Result<Hash, LockfileError> {
        self.valid_hash(algorithm, hex, offset).ok_or_else(|| {
            self.invalid(
                offset,
                format!("`{algorithm} = \"{hex}\"` is not a hash: write an algorithm = its hex digest"),
            )
        })
    }

    fn valid_hash(&self, algorithm: &str, hex: &str, offset: usize) -> Option<Hash> {
        let valid = !algorithm.is_empty()
            && algorithm.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !hex.is_empty()
            && hex.chars().all(|c| c.is_ascii_hexdigit());
        valid.then(|| Hash {
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
            (None, Some(url)) => url_file_name(url)
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

/// A PEP 508 marker. Parsed as the marker of a requirement, whose parser guards against the
/// inputs pep508_rs panics on.
pub(super) fn parse_marker(text: &str) -> Result<MarkerTree, String> {
    crate::requirement::parse(&format!("marker ; {text}")).map(|requirement| requirement.marker)
}

/// `marker` with its `extra` tests taken as true where they appear (each conjunction of its
/// disjunctive form without them): the lock's markers must describe environments only, and a
/// wider marker keeps a package in the audit where a narrower one could drop it.
pub(super) fn without_extras(marker: &MarkerTree) -> MarkerTree {
    // The disjunctive form of true is empty, as that of false.
    if marker.is_true() {
        return MarkerTree::TRUE;
    }
    let mut environments = MarkerTree::FALSE;
    for conjunction in marker.to_dnf() {
        let mut term = MarkerTree::TRUE;
        for expression in conjunction.into_iter().filter(|e| !matches!(e, MarkerExpression::Extra { .. })) {
            term.and(MarkerTree::expression(expression));
        }
        environments.or(term);
    }
    environments
}

/// The name of the file a URL ends in, percent-decoded; none for text that is no URL.
pub(super) fn url_file_name(url: &str) -> Option<String> {
    Url::parse(url).ok().as_ref().and_then(last_segment)
}

/// The name of the file a URL (or text that is no URL, as a path) or else a path ends in.
pub(super) fn file_name(url: Option<&str>, path: Option<&str>) -> Option<String> {
    let from_url = url.and_then(|url| if Url::parse(url).is_ok() { url_file_name(url) } else { path_tail(url) });
    from_url.or_else(|| path.and_then(path_tail))
}

/// The last component of a path, `/` or `\` separated.
fn path_tail(path: &str) -> Option<String> {
    path.rsplit(['/', '\\']).next().filter(|tail| !tail.is_empty()).map(str::to_string)
}

/// A string as itself, a TOML datetime (pylock's `upload-time`) or another value as TOML.
pub(super) fn as_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Adds `index` to the lock's indexes, which keep the order each is first seen in.
pub(super) fn note_index(indexes: &mut Vec<String>, index: &str) {
    if !indexes.iter().any(|known| known == index) {
        indexes.push(index.to_string());
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
    fn vcs(&self) -> [(&'static str, &Option<String>); 4] {
        [("git", &self.git), ("hg", &self.hg), ("svn", &self.svn), ("bzr", &self.bzr)]
    }

    /// Where the package comes from when not from an index, as written (`git URL`, `path DIR`, …).
    pub fn non_index_source(&self) -> Option<String> {
        let mut sources =
            self.vcs().into_iter().chain([("path", &self.path), ("url", &self.url), ("file", &self.file)]);
        let source = sources.find_map(|(kind, value)| Some(format!("{kind} {}", value.as_ref()?)));
        match (source, self.editable) {
            (Some(source), true) => Some(format!("editable {source}")),
            (None, true) => Some("an editable install".to_string()),
            (source, false) => source,
        }
    }

    /// Whether the source is a local directory (not a repository, and no archive file).
    pub fn is_local_tree(&self) -> bool {
        self.vcs().iter().all(|(_, value)| value.is_none()) && self.path.as_deref().is_some_and(is_source_tree)
    }
}

/// The suffixes of the archives pip unpacks: a local path ending in one is a file, not a tree.
const ARCHIVE_SUFFIXES: [&str; 12] =
    [".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma"];

/// Whether a local path names a source tree (a directory) rather than an archive file. A lock
/// does not say which, and an archive could be swapped for another: only a path that ends in
/// no archive suffix is a tree.
pub(super) fn is_source_tree(path: &str) -> bool {
    let name = path.trim_end_matches(['/', '\\']).to_ascii_lowercase();
    !ARCHIVE_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// The finding for a package that does not come from an index, located at the package.
/// `local_tree`: its source is a local directory, the user's own code (typically the project
/// itself), which is worth knowing but not an error.
pub(super) fn unhashable(package: &Package, local_tree: bool) -> Option<Finding> {
    let source = redact_text(package.non_index_source.as_deref()?);
    let what = match &package.version {
        Some(version) => format!("{} {version}", package.name),
        None => package.name.to_string(),
    };
    let why = if local_tree {
        "it is built from the local source tree, which no hash covers"
    } else if package.artifacts.iter().any(|artifact| !artifact.hashes.is_empty()) {
        "its recorded hashes pin it, but no index vouches for them, so hashlock cannot check them"
    } else {
        "no index vouches for it, so its hashes cannot be checked"
    };
    let mut finding = Finding::new(Code::Unhashable, Some(&package.name), format!("{what} comes from {source}: {why}"))
        .at(&package.location);
    if local_tree {
        finding.severity = Severity::Info;
    }
    Some(finding)
}

/// The finding for a recorded hash whose algorithm pip refuses (md5, sha1), at the hash.
pub(super) fn rejected_algorithm(hash: &Hash, package: Option<&PackageName>) -> Option<Finding> {
    let algorithm = &hash.algorithm;
    (!PIP_ALGORITHMS.contains(&algorithm.as_str())).then(|| {
        let allowed = PIP_ALGORITHMS.join(", ");
        Finding::new(
            Code::WeakHashOnly,
            package,
            format!("{algorithm}:… uses {algorithm}, which pip rejects (allowed: {allowed})"),
        )
        .at(&hash.location)
    })
}

/// Extras a locked package asks of a dependency, where that package applies.
pub(super) struct ExtrasRequest {
    pub marker: MarkerTree,
    pub name: PackageName,
    pub extras: Vec<ExtraName>,
}

/// Gives each package the extras its dependents ask of its name, from those dependents that can
/// be installed beside it (their markers can both hold): a dependent only Python 3.9 installs
/// asks nothing of the version locked for 3.10 and up.
pub(super) fn add_requested_extras(packages: &mut [Package], requests: &[ExtrasRequest]) {
    for package in packages {
        let mut extras: BTreeSet<ExtraName> = package.extras.drain(..).collect();
        for request in requests.iter().filter(|request| request.name == package.name) {
            let mut both = request.marker.clone();
            both.and(package.marker.clone());
            if !both.is_false() {
                extras.extend(request.extras.iter().cloned());
            }
        }
        package.extras = extras.into_iter().collect();
    }
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

/// For the readers' tests: where a sample says something, a summary of a read lock for
/// snapshots, and random edits of samples for the never-panic properties.
#[cfg(test)]
pub(super) mod test_support {
    use std::fmt::Write;

    use proptest::prelude::*;

    use crate::lockfile::{Lockfile, Selector};

    /// Asserts that each of `cases` (a text, and the line of its fault) is an error of one line
    /// at that line of `file`.
    pub fn assert_errors_at<E: std::fmt::Display>(
        cases: &[(String, usize)],
        file: &str,
        parse: impl Fn(&str) -> Result<Lockfile, E>,
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

    /// The model of a lock, one line per package, artifact, hash and finding, for snapshots.
    pub fn summary(lockfile: &Lockfile) -> String {
        let mut out = format!(
            "universal={} requires-python={} indexes={:?}\n",
            lockfile.universal,
            lockfile.requires_python.as_deref().unwrap_or("-"),
            lockfile.indexes
        );
        for package in &lockfile.packages {
            let groups: Vec<String> = package
                .groups
                .iter()
                .map(|group| match group {
                    Selector::Default => "default".to_string(),
                    Selector::Group(name) => format!("group:{name}"),
                    Selector::Extra(name) => format!("extra:{name}"),
                })
                .collect();
            let _ = writeln!(
                out,
                "{}: {} {} marker=[{}] groups={groups:?} extras={:?} index={} source={} dependencies={:?}",
                package.location.line,
                package.name,
                package.version.as_ref().map_or("-".to_string(), ToString::to_string),
                package.marker.try_to_string().unwrap_or_else(|| "true".to_string()),
                package.extras.iter().map(ToString::to_string).collect::<Vec<_>>(),
                package.index.as_deref().unwrap_or("-"),
                package.non_index_source.as_deref().unwrap_or("-"),
                package.dependencies.as_ref().map(|names| names.iter().map(ToString::to_string).collect::<Vec<_>>()),
            );
            for artifact in &package.artifacts {
                let _ = writeln!(
                    out,
                    "  {}: {} url={} size={:?} upload-time={}",
                    artifact.location.line,
                    artifact.filename.as_deref().unwrap_or("-"),
                    artifact.url.as_deref().unwrap_or("-"),
                    artifact.size,
                    artifact.upload_time.as_deref().unwrap_or("-"),
                );
                for hash in &artifact.hashes {
                    let _ = writeln!(
                        out,
                        "    {}: {}:{}",
                        hash.location.line,
                        hash.algorithm,
                        hash.hex.get(..12).unwrap_or(&hash.hex)
                    );
                }
            }
        }
        for finding in &lockfile.findings {
            let _ = writeln!(
                out,
                "{} {} {}: {}",
                finding.severity,
                finding.code,
                finding.location.as_deref().unwrap_or("-"),
                finding.message
            );
        }
        out
    }

    /// Text that TOML, JSON and marker parsers treat specially, to splice into samples.
    pub fn fragment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "",
            "\"",
            "'",
            "[",
            "]",
            "[[",
            "{",
            "}",
            "=",
            ",",
            ":",
            "\n",
            "#",
            "(",
            ")",
            " and ",
            " or ",
            " not in ",
            "é",
            "\u{2003}",
            "version = 2",
            "lock-version = \"2.0\"",
            "marker = \"'a' in extras or (\"",
            "marker = \"'x' not in dependency_groups and os_name == 'nt'\"",
            "extra = [\"x\"]",
            "hash = \"sha256\"",
            "source = { editable = \".\" }",
            "{ name = \"click\" }",
            "size = -1",
            "999999999999999999999",
            "1979-05-27T07:32:00Z",
        ])
    }

    /// Up to 15 bytes replaced at a point (by a fragment or a few random characters), or a
    /// whole line dropped or doubled (which keeps the syntax, and so reaches deeper).
    type Edit = (prop::sample::Index, u8, String);

    fn edits() -> impl Strategy<Value = Vec<Edit>> {
        let inserted = prop_oneof![fragment().prop_map(str::to_string), "[\"=\\[\\]{}#,.:\n a-z0-9é]{0,3}"];
        prop::collection::vec((any::<prop::sample::Index>(), 0..18u8, inserted), 1..6)
    }

    fn apply(sample: &str, edits: &[Edit]) -> String {
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

    /// Any text, or one of `samples` with a few edits: what a reader must read without panicking.
    pub fn texts(samples: Vec<&'static str>) -> impl Strategy<Value = String> {
        let mutated = (prop::sample::select(samples), edits()).prop_map(|(sample, edits)| apply(sample, &edits));
        prop_oneof![any::<String>(), mutated]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(source: &'static str) -> LockText<'static> {
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
    fn hashes_by_algorithm_are_hex() {
        let lock = text("a\nsha256 = 'AB'\n");
        let hash = lock.hash_of("SHA256", "AB", 2).unwrap();
        assert_eq!((hash.algorithm.as_str(), hash.hex.as_str(), hash.location.line), ("sha256", "ab", 2));
        assert_eq!(
            lock.hash_of("sha256", "xyz", 2).unwrap_err().to_string(),
            "x.lock:2: `sha256 = \"xyz\"` is not a hash: write an algorithm = its hex digest"
        );
    }

    #[test]
    fn only_paths_without_an_archive_suffix_are_source_trees() {
        for tree in [".", "./tools", "../lib/", "C:\\src\\app", "pkg.d", "a.whl.d"] {
            assert!(is_source_tree(tree), "{tree}");
        }
        for archive in ["dist/a-1.0-py3-none-any.whl", "a-1.0.tar.gz", "A-1.0.ZIP", "a.tgz", "a.tar.bz2", "a.tar"] {
            assert!(!is_source_tree(archive), "{archive}");
        }
    }

    #[test]
    fn only_algorithms_pip_refuses_are_found() {
        let lock = text("x\ny\n");
        let name = PackageName::from_str("tool").unwrap();
        let finding = rejected_algorithm(&lock.hash("md5:ab", 2).unwrap(), Some(&name)).unwrap();
        assert_eq!(
            (finding.code, finding.location.as_deref(), finding.message.as_str()),
            (
                Code::WeakHashOnly,
                Some("x.lock:2"),
                "md5:… uses md5, which pip rejects (allowed: sha256, sha384, sha512)"
            )
        );
        assert_eq!(rejected_algorithm(&lock.hash("sha384:ab", 2).unwrap(), Some(&name)), None);
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

    /// Poetry's `textual` (Python 3.9 only) asks `markdown-it-py[linkify]`: the markdown-it-py
    /// locked for 3.10 and up is not installed with that extra.
    #[test]
    fn extras_go_to_the_packages_their_dependent_is_installed_beside() {
        let marker = |text: &str| parse_marker(text).expect("marker");
        let package = |version: &str, applies: &str| Package {
            version: Some(version.parse().expect("version")),
            marker: marker(applies),
            ..Package::named("markdown-it-py", Location { file: "poetry.lock".into(), line: 1 })
        };
        let mut packages = [package("3.0.0", "python_version < '3.10'"), package("4.3.0", "python_version >= '3.10'")];
        let requests = [ExtrasRequest {
            marker: marker("python_version == '3.9'"),
            name: "markdown-it-py".parse().expect("name"),
            extras: vec!["linkify".parse().expect("extra")],
        }];
        add_requested_extras(&mut packages, &requests);
        let extras: Vec<usize> = packages.iter().map(|p| p.extras.len()).collect();
        assert_eq!(extras, [1, 0]);
    }
}
