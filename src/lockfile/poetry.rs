//! Reader for Poetry's `poetry.lock`, lock-version 1.1 to 2.1: packages with their files (in
//! each package since 2.0, in `[metadata.files]` before), groups (`category` before 2.0,
//! `groups` since), markers (2.1: one string, or one per group), sources and extras.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{MarkerTree, PackageName};
use serde::Deserialize;
use toml::Spanned;

use crate::dist::DistFilename;
use crate::lockfile::reader::{
    ExtrasRequest, FileEntry, LockText, add_requested_extras, any_of, note_index, selector, unhashable,
};
use crate::lockfile::{LockFormat, Lockfile, LockfileError, Package, Selector};

/// What decides whether the rest can be read, read first so that a newer format is refused
/// for its version rather than for a key it changed.
#[derive(Deserialize)]
struct Header {
    metadata: Option<HeaderMetadata>,
}

#[derive(Deserialize)]
struct HeaderMetadata {
    #[serde(rename = "lock-version")]
    lock_version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<Spanned<PoetryPackage>>,
    /// The project's extras, by the names of the packages each installs.
    #[serde(default)]
    extras: BTreeMap<String, Vec<String>>,
    metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata {
    python_versions: Option<String>,
    /// Lock-version 1.1: every package's files, by package name (of all its versions).
    #[serde(default)]
    files: BTreeMap<String, Vec<Spanned<FileEntry>>>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    optional: bool,
    /// Lock-version 1.1: `main` or `dev`.
    category: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    markers: Option<Spanned<Markers>>,
    files: Option<Vec<Spanned<FileEntry>>>,
    source: Option<PoetrySource>,
    /// By name: a version constraint, a table (`{version, extras, markers, …}`) or a list of them.
    #[serde(default)]
    dependencies: BTreeMap<String, Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Markers {
    Everywhere(String),
    /// By group; a group without one applies everywhere.
    ByGroup(BTreeMap<String, String>),
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

/// Parses `text` as the contents of `path`, a `poetry.lock`.
pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    let lock_text = LockText::new(text, path, LockFormat::Poetry);
    let header: Header = lock_text.toml()?;
    let Some(lock_version) = header.metadata.and_then(|metadata| metadata.lock_version) else {
        return Err(lock_text.not_this_format("no [metadata] lock-version"));
    };
    lock_text.check_format_version(
        &lock_version,
        "lock-version",
        "poetry.lock lock-version 1.1 to 2.1",
        |version| {
            let version = version.as_str().and_then(|version| Version::from_str(version).ok());
            version.is_some_and(|version| Version::new([1, 1]) <= version && version <= Version::new([2, 1]))
        },
    )?;
    let lock: PoetryLock = lock_text.toml()?;
    Reader { text: &lock_text, lock: &lock }.read()
}

struct Reader<'a> {
    text: &'a LockText<'a>,
    lock: &'a PoetryLock,
}

impl Reader<'_> {
    fn read(&self) -> Result<Lockfile, LockfileError> {
        let mut lockfile = Lockfile::new(self.text.path, LockFormat::Poetry);
        lockfile.universal = true;
        lockfile.requires_python = self.lock.metadata.python_versions.as_deref().and_then(requires_python);
        let files = self.files_by_name();
        let mut requested = Vec::new();
        for spanned in &self.lock.package {
            let raw = spanned.get_ref();
            let package = self.package(raw, spanned.span().start, &files)?;
            requested.extend(self.extras_requested(raw, &package.marker)?);
            if let Some(index) = &package.index {
                note_index(&mut lockfile.indexes, index);
            }
            // A `directory` source is the user's own tree; `file` is an archive, which could be
            // swapped.
            let local_tree = raw.source.as_ref().is_some_and(|source| source.kind.as_deref() == Some("directory"));
            lockfile.findings.extend(unhashable(&package, local_tree));
            lockfile.packages.push(package);
        }
        add_requested_extras(&mut lockfile.packages, &requested);
        Ok(lockfile)
    }

    /// The package `raw`, whose table starts at `at`.
    fn package(
        &self,
        raw: &PoetryPackage,
        at: usize,
        files: &BTreeMap<PackageName, &Vec<Spanned<FileEntry>>>,
    ) -> Result<Package, LockfileError> {
        let name = self.text.name(raw.name.get_ref(), raw.name.span().start)?;
        let version = self.text.version(raw.version.get_ref(), raw.version.span().start)?;
        let entries: Vec<&Spanned<FileEntry>> = match &raw.files {
            Some(entries) => entries.iter().collect(),
            // `[metadata.files]` lists the files of every version of the name.
            None => files
                .get(&name)
                .into_iter()
                .flat_map(|entries| entries.iter())
                .filter(|entry| of_version(entry.get_ref(), &name, &version))
                .collect(),
        };
        let artifacts = entries.into_iter().map(|entry| self.text.artifact(entry)).collect::<Result<_, _>>()?;
        // `legacy` is an index (PEP 503); anything else (git, url, file, directory) no index has.
        let (index, non_index_source) = match &raw.source {
            Some(PoetrySource { kind: Some(kind), url }) if kind != "legacy" => {
                (None, Some(format!("{kind} {}", url.as_deref().unwrap_or_default()).trim_end().to_string()))
            }
            Some(source) => (source.url.clone(), None),
            None => (None, None),
        };
        let dependencies: BTreeSet<PackageName> = raw
            .dependencies
            .iter()
            .map(|(dependency, value)| self.text.name(dependency, value.span().start))
            .collect::<Result<_, _>>()?;
        Ok(Package {
            marker: self.marker(raw)?,
            extras: Vec::new(),
            index,
            artifacts,
            dependencies: Some(dependencies.into_iter().collect()),
            groups: self.groups(raw, &name),
            non_index_source,
            attestation_identities: Vec::new(),
            location: self.text.location(at),
            name,
            version: Some(version),
        })
    }

    /// Lock-version 1.1 names one group in `category`, 2.x several in `groups`. An optional
    /// package of `main` is installed only with the project's extras that name it.
    fn groups(&self, raw: &PoetryPackage, name: &PackageName) -> BTreeSet<Selector> {
        let named: Vec<&str> = if raw.groups.is_empty() {
            raw.category.as_deref().into_iter().collect()
        } else {
            raw.groups.iter().map(String::as_str).collect()
        };
        let mut groups: BTreeSet<Selector> = named.into_iter().map(|group| selector(group, "main")).collect();
        let root_extras: Vec<Selector> = self
            .lock
            .extras
            .iter()
            // Names, which older Poetry wrote with a constraint: `pyyaml (>=5.1)`.
            .filter(|(_, packages)| {
                packages
                    .iter()
                    .filter_map(|p| p.split([' ', '(', '[']).next())
                    .any(|p| PackageName::from_str(p).is_ok_and(|p| p == *name))
            })
            .map(|(extra, _)| Selector::extra(extra))
            .collect();
        if raw.optional && !root_extras.is_empty() && groups.remove(&Selector::Default) {
            groups.extend(root_extras);
        }
        groups
    }

    /// Where the package applies: for markers by group, wherever the marker of one of its
    /// groups holds.
    fn marker(&self, raw: &PoetryPackage) -> Result<MarkerTree, LockfileError> {
        let Some(markers) = &raw.markers else { return Ok(MarkerTree::TRUE) };
        let at = markers.span().start;
        match markers.get_ref() {
            Markers::Everywhere(marker) => self.text.marker(marker, at),
            Markers::ByGroup(by_group) => {
                let normal: BTreeMap<Selector, &String> =
                    by_group.iter().map(|(group, marker)| (Selector::group(group), marker)).collect();
                let of_groups: Vec<Option<&String>> = if raw.groups.is_empty() {
                    normal.values().copied().map(Some).collect()
                } else {
                    raw.groups.iter().map(|group| normal.get(&Selector::group(group)).copied()).collect()
                };
                let mut union = MarkerTree::FALSE;
                for marker in of_groups {
                    union.or(match marker {
                        Some(marker) => self.text.marker(marker, at)?,
                        None => MarkerTree::TRUE,
                    });
                }
                Ok(union)
            }
        }
    }

    /// The extras `raw` (which applies where `marker` holds) asks of its dependencies.
    fn extras_requested(&self, raw: &PoetryPackage, marker: &MarkerTree) -> Result<Vec<ExtrasRequest>, LockfileError> {
        let mut requests = Vec::new();
        for (dependency, constraint) in &raw.dependencies {
            let at = constraint.span().start;
            let asked = requested_extras(constraint.get_ref());
            if asked.is_empty() {
                continue;
            }
            let extras = asked.into_iter().map(|extra| self.text.extra(extra, at)).collect::<Result<_, _>>()?;
            requests.push(ExtrasRequest { marker: marker.clone(), name: self.text.name(dependency, at)?, extras });
        }
        Ok(requests)
    }

    /// `[metadata.files]` by normalised name (a key that is no name belongs to no package).
    fn files_by_name(&self) -> BTreeMap<PackageName, &Vec<Spanned<FileEntry>>> {
        self.lock
            .metadata
            .files
            .iter()
            .filter_map(|(name, entries)| Some((PackageName::from_str(name).ok()?, entries)))
            .collect()
    }
}

/// Whether a file of `[metadata.files]` is one of this version (a name that does not parse
/// as a distribution may be, so it is kept).
fn of_version(entry: &FileEntry, name: &PackageName, version: &Version) -> bool {
    let parsed = entry.file_name().and_then(|file| DistFilename::parse(file, name));
    parsed.is_none_or(|parsed| parsed.version() == version)
}

/// The `extras` of a dependency's constraint, or of each of its constraints.
fn requested_extras(constraint: &toml::Value) -> Vec<&str> {
    match constraint {
        toml::Value::Table(table) => table
            .get("extras")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(toml::Value::as_str)
            .collect(),
        toml::Value::Array(constraints) => constraints.iter().flat_map(requested_extras).collect(),
        _ => Vec::new(),
    }
}

/// `[metadata] python-versions`, a Poetry constraint, as PEP 440 specifiers: `^3.9` is
/// `>=3.9,<4.0`, `~3.9` is `>=3.9,<3.10`, a bare version is `==` it; for alternatives (`||`)
/// the lowest Python any admits. None for any Python (`*`) or what cannot be read.
fn requires_python(constraint: &str) -> Option<String> {
    let alternatives: Vec<String> = constraint
        .split('|')
        .map(str::trim)
        .filter(|alternative| !alternative.is_empty())
        .map(all_of)
        .collect::<Option<_>>()?;
    any_of(&alternatives).filter(|specifiers| !specifiers.is_empty())
}

/// One alternative: constraints separated by commas or spaces (an operator may stand apart from
/// its version: `>= 3.8`).
fn all_of(constraint: &str) -> Option<String> {
    let mut words: Vec<String> = Vec::new();
    let mut operator = String::new();
    for word in constraint.split(|c: char| c == ',' || c.is_whitespace()).filter(|word| !word.is_empty()) {
        if word.chars().all(|c| "<>=!~^".contains(c)) {
            operator.push_str(word);
        } else {
            words.push(format!("{}{word}", std::mem::take(&mut operator)));
        }
    }
    if !operator.is_empty() {
        return None;
    }
    let specifiers = words.iter().map(|word| pep440(word)).collect::<Option<Vec<Vec<String>>>>()?.concat().join(",");
    VersionSpecifiers::from_str(&specifiers).is_ok().then_some(specifiers)
}

/// One Poetry constraint as PEP 440 specifiers (none for `*`).
fn pep440(constraint: &str) -> Option<Vec<String>> {
    if constraint == "*" {
        return Some(Vec::new());
    }
    if let Some(version) = constraint.strip_prefix('^') {
        let lower = release(version)?;
        // Poetry's `next_breaking`: the first non-zero part of those given is bumped.
        let bumped = lower.iter().position(|part| *part != 0).unwrap_or(lower.len() - 1);
        return Some(vec![format!(">={version}"), format!("<{}", bump(&lower, bumped))]);
    }
    if constraint.starts_with("~=") {
        return Some(vec![constraint.to_string()]);
    }
    if let Some(version) = constraint.strip_prefix('~') {
        let lower = release(version)?;
        return Some(vec![format!(">={version}"), format!("<{}", bump(&lower, lower.len().min(2) - 1))]);
    }
    for (operator, pep440) in
        [(">=", ">="), ("<=", "<="), ("!=", "!="), ("==", "=="), ("<>", "!="), (">", ">"), ("<", "<"), ("=", "==")]
    {
        if let Some(version) = constraint.strip_prefix(operator) {
            return Some(vec![format!("{pep440}{version}")]);
        }
    }
    Some(vec![format!("=={constraint}")])
}

/// The parts of a plain release (`3.9.1`); none for anything else.
fn release(version: &str) -> Option<Vec<u64>> {
    version
        .split('.')
        .map(|part| part.parse::<u64>().ok())
        .collect::<Option<Vec<u64>>>()
        .filter(|parts| !parts.is_empty())
}

/// `parts` with the one at `at` incremented and those after it zero: `bump([3, 9], 0)` is `4.0`.
fn bump(parts: &[u64], at: usize) -> String {
    let bumped: Vec<String> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| match i.cmp(&at) {
            std::cmp::Ordering::Less => part.to_string(),
            std::cmp::Ordering::Equal => part.saturating_add(1).to_string(),
            std::cmp::Ordering::Greater => "0".to_string(),
        })
        .collect();
    bumped.join(".")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::findings::{Code, Severity};
    use crate::lockfile::reader::test_support::{assert_errors_at, line_of, texts};

    /// A Poetry 2 lock (lock-version 2.1, as `poetry lock` writes it), cut down: files in each
    /// package, markers by group, a private source, a Git source and a project extra.
    const LOCK_2_1: &str = r#"# This file is automatically @generated by Poetry 2.5.1 and should not be changed by hand.

[[package]]
name = "certifi"
version = "2026.10.19.post1"
description = "Python package for providing Mozilla's CA Bundle."
optional = false
python-versions = ">=3.7"
groups = ["main"]
files = [
    {file = "certifi-2026.10.19.post1-py3-none-any.whl", hash = "sha256:123BE5B01E5A31549C3CBA610A83C5D31916CF13D1D5D1A0DCE697C78B887DE7"},
    {file = "certifi-2026.10.19.post1.tar.gz", hash = "sha256:5e1e6c71ccaa1603fac2b9a249db7b40636fb1c67155b54672c5df1fc6e87d8f"},
]

[[package]]
name = "colorama"
version = "0.4.6"
description = "Cross-platform colored terminal text."
optional = false
python-versions = "!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*,!=3.4.*,!=3.5.*,!=3.6.*,>=2.7"
groups = ["dev"]
markers = "sys_platform == \"win32\""
files = [
    {file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:7f930ee0859e399356040403c2f097b1439b83b5e33279e4e4460bf7a307bd31"},
]

[[package]]
name = "git-helper"
version = "0.3.0"
description = ""
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = []
develop = false

[package.source]
type = "git"
url = "https://ci:s3cr3t@git.example/org/git-helper.git"
reference = "main"
resolved_reference = "0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "private-lib"
version = "1.0"
description = "From the company index."
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = [
    {file = "private_lib-1.0-py3-none-any.whl", hash = "sha256:715dc8493c36579a5b116995100f635e3572fdf8703e708ef1a08d943b36774e"},
]

[package.source]
type = "legacy"
url = "http://127.0.0.1:9/private/simple"
reference = "private"

[[package]]
name = "requests"
version = "2.32.3"
description = "Python HTTP for Humans."
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = [
    {file = "requests-2.32.3-py3-none-any.whl", hash = "sha256:5d3afea1ef9a9ce40e9a5ac897036cafb93b58cd14558e0183af57cfeedcd6fe"},
    {file = "requests-2.32.3.tar.gz", hash = "sha256:9f66f60b72fa17698c5f5f2511db1c139eb9fbf3dc52bc60a1d6d79c0a56b038"},
]

[package.dependencies]
certifi = ">=2017.4.17"
PySocks = {version = ">=1.5.6,!=1.5.7", optional = true, markers = "extra == \"socks\""}
urllib3 = [
    {version = ">=1.21.1,<2", markers = "python_version < \"3.10\""},
    {version = ">=2,<3", extras = ["SOCKS", "h2"], markers = "python_version >= \"3.10\""},
]

[package.extras]
socks = ["PySocks (>=1.5.6,!=1.5.7)"]

[[package]]
name = "six"
version = "1.16.0"
description = "Python 2 and 3 compatibility utilities"
optional = false
python-versions = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*"
groups = ["main", "dev"]
files = [
    {file = "six-1.16.0-py2.py3-none-any.whl", hash = "sha256:9d7f01b836937b3848a124ea674bf726655ac5983907a862cbe70071eeb17119"},
]
markers = {main = "extra == \"fast\"", dev = "sys_platform == \"win32\""}

[[package]]
name = "tomli"
version = "2.5.0"
description = "A lil' TOML parser"
optional = false
python-versions = ">=3.8"
groups = ["main", "dev"]
markers = {main = "python_version < \"3.11\""}
files = [
    {file = "tomli-2.5.0-py3-none-any.whl", hash = "md5:20365bfafea2738b2ee4982e6c2b55b7"},
]

[[package]]
name = "ujson"
version = "5.10.0"
description = "Ultra fast JSON encoder and decoder for Python"
optional = true
python-versions = ">=3.8"
groups = ["main"]
markers = "extra == \"fast\""
files = [
    {file = "ujson-5.10.0.tar.gz", hash = ""},
]

[[package]]
name = "urllib3"
version = "2.2.0"
description = "HTTP library with thread-safe connection pooling, file post, and more."
optional = false
python-versions = ">=3.8"
groups = ["main"]
files = [
    {file = "urllib3-2.2.0-py3-none-any.whl", hash = "sha256:4e08df8645a52a3fa9c5d9bea56d95d55b911db35f652cbbe6016517e761acb5"},
]

[extras]
fast = ["six", "UJSON (>=5)"]

[metadata]
lock-version = "2.1"
python-versions = "^3.9"
content-hash = "1dcf4e09b1308a491de76915887b40412d4e57983d150ba874e377369c2b6cd2"
"#;

    /// A Poetry 1 lock (lock-version 1.1): `category`, no markers, files in `[metadata.files]`
    /// by name for every version of it.
    const LOCK_1_1: &str = r#"[[package]]
name = "idna"
version = "2.10"
description = "Internationalized Domain Names in Applications (IDNA)"
category = "main"
optional = false
python-versions = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"

[[package]]
name = "idna"
version = "3.4"
description = "Internationalized Domain Names in Applications (IDNA)"
category = "main"
optional = false
python-versions = ">=3.5"

[[package]]
name = "pysocks"
version = "1.7.1"
description = "A Python SOCKS client module."
category = "dev"
optional = false
python-versions = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"

[metadata]
lock-version = "1.1"
python-versions = "~2.7 || ^3.6"
content-hash = "f72a0bf53f693600b240bf57d434e9a37815e26d3d2953974c6dbbdab73b74ec"

[metadata.files]
idna = [
    {file = "idna-2.10-py2.py3-none-any.whl", hash = "sha256:b97d804b1e9b523befed77c48dacec60e6dcb0b5391d57af6a65a312a90648c0"},
    {file = "idna-2.10.tar.gz", hash = "sha256:b307872f855b18632ce0c21c5e45be78c0ea7ae4c15c828c20788b26921eb3f6"},
    {file = "idna-3.4-py3-none-any.whl", hash = "sha256:90b77e79eaa3eba6de819a0c442c0b4ceefc341a7a2ab77d7562bf49f425c5c2"},
    {file = "idna-3.4.tar.gz", hash = "sha256:814f528e8dead7d329833b91c5faa87d60bf71824cd12a7530b5526063d02cb4"},
]
PySocks = [
    {file = "PySocks-1.7.1-py3-none-any.whl", hash = "sha256:2725bd0a9925919b9b51739eea5f9e2bae91e83288108a9ad338b2e3a4435ee5"},
    {file = "PySocks.whl", hash = "sha256:08e69f092cc6dbe92a0fdd16eeb9b9ffbc13cadfe5ca4c7bd92ffb078b293299"},
]
"#;

    fn read(text: &str) -> Lockfile {
        parse(text, Path::new("poetry.lock")).unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("poetry.lock")).unwrap_err().to_string()
    }

    fn package<'a>(lock: &'a Lockfile, name: &str, version: &str) -> &'a Package {
        let version = Version::from_str(version).unwrap();
        lock.packages.iter().find(|p| p.name.as_ref() == name && p.version.as_ref() == Some(&version)).unwrap()
    }

    fn marker(package: &Package) -> Option<String> {
        package.marker.try_to_string()
    }

    fn groups(package: &Package) -> Vec<Selector> {
        package.groups.iter().cloned().collect()
    }

    #[test]
    fn lock_2_1_packages_with_their_files_groups_and_markers() {
        let lock = read(LOCK_2_1);
        assert!(lock.universal);
        assert_eq!(lock.format, LockFormat::Poetry);
        assert_eq!(lock.requires_python.as_deref(), Some(">=3.9,<4.0"));
        let names: Vec<&str> = lock.packages.iter().map(|p| p.name.as_ref()).collect();
        assert_eq!(
            names,
            ["certifi", "colorama", "git-helper", "private-lib", "requests", "six", "tomli", "ujson", "urllib3"]
        );

        let certifi = package(&lock, "certifi", "2026.10.19.post1");
        assert_eq!(certifi.location.line, 3, "its [[package]] line");
        assert_eq!((marker(certifi), groups(certifi)), (None, vec![Selector::Default]));
        let files: Vec<(Option<&str>, usize, &str, &str, usize)> = certifi
            .artifacts
            .iter()
            .flat_map(|a| {
                a.hashes.iter().map(move |h| {
                    (a.filename.as_deref(), a.location.line, h.algorithm.as_str(), &h.hex[..8], h.location.line)
                })
            })
            .collect();
        assert_eq!(
            files,
            [
                (Some("certifi-2026.10.19.post1-py3-none-any.whl"), 11, "sha256", "123be5b0", 11),
                (Some("certifi-2026.10.19.post1.tar.gz"), 12, "sha256", "5e1e6c71", 12),
            ]
        );

        let colorama = package(&lock, "colorama", "0.4.6");
        assert_eq!(marker(colorama).as_deref(), Some("sys_platform == 'win32'"));
        assert_eq!(groups(colorama), [Selector::group("dev")]);
        // By group: where either group's marker holds; a group without one holds everywhere.
        let six = package(&lock, "six", "1.16.0");
        assert_eq!(marker(six).as_deref(), Some("extra == 'fast' or sys_platform == 'win32'"));
        assert_eq!(groups(six), [Selector::Default, Selector::group("dev")]);
        assert!(package(&lock, "tomli", "2.5.0").marker.is_true());
        // An optional package of `main` comes only with the project's extras that name it.
        let ujson = package(&lock, "ujson", "5.10.0");
        assert_eq!(groups(ujson), [Selector::extra("fast")]);
        assert_eq!((ujson.artifacts.len(), ujson.artifacts[0].hashes.len()), (1, 0), "an empty hash is none");
        let tomli_hash = &package(&lock, "tomli", "2.5.0").artifacts[0].hashes[0];
        assert_eq!((tomli_hash.algorithm.as_str(), tomli_hash.location.line), ("md5", line_of(LOCK_2_1, "md5:")));
    }

    #[test]
    fn sources_dependencies_and_the_extras_dependents_ask_for() {
        let lock = read(LOCK_2_1);
        let private = package(&lock, "private-lib", "1.0");
        assert_eq!(private.index.as_deref(), Some("http://127.0.0.1:9/private/simple"));
        assert_eq!(lock.indexes, ["http://127.0.0.1:9/private/simple"]);
        assert_eq!(private.non_index_source, None);

        let git = package(&lock, "git-helper", "0.3.0");
        assert_eq!(git.non_index_source.as_deref(), Some("git https://ci:s3cr3t@git.example/org/git-helper.git"));
        assert_eq!(git.index, None);
        let [finding] = lock.findings.as_slice() else { panic!("{:?}", lock.findings) };
        assert_eq!(finding.code, Code::Unhashable);
        assert_eq!(finding.location, Some(format!("poetry.lock:{}", line_of(LOCK_2_1, "name = \"git-helper\"") - 1)));
        assert!(finding.message.contains("git https://***@git.example/org/git-helper.git"), "{}", finding.message);
        assert!(!finding.message.contains("s3cr3t"));

        let requests = package(&lock, "requests", "2.32.3");
        let dependencies: Vec<&str> = requests.dependencies.iter().flatten().map(|d| d.as_ref()).collect();
        assert_eq!(dependencies, ["certifi", "pysocks", "urllib3"]);
        // requests asks for urllib3[socks,h2] (in one of its constraints); nobody asks requests
        // for an extra.
        assert!(requests.extras.is_empty());
        let extras: Vec<&str> = package(&lock, "urllib3", "2.2.0").extras.iter().map(|e| e.as_ref()).collect();
        assert_eq!(extras, ["h2", "socks"]);
    }

    /// A `directory` source is the user's own tree; a `file` (an archive) or a repository is not.
    #[test]
    fn a_directory_source_is_info_and_a_file_or_git_an_error() {
        for (kind, severity) in [("directory", Severity::Info), ("file", Severity::Error), ("git", Severity::Error)] {
            let lock = read(&LOCK_2_1.replace("type = \"git\"", &format!("type = \"{kind}\"")));
            let [finding] = lock.findings.as_slice() else { panic!("{:?}", lock.findings) };
            assert_eq!((finding.code, finding.severity), (Code::Unhashable, severity), "{kind}");
        }
    }

    #[test]
    fn lock_1_1_reads_category_and_the_files_of_each_version() {
        let lock = read(LOCK_1_1);
        // `~2.7 || ^3.6`: the lowest Python either admits.
        assert_eq!(lock.requires_python.as_deref(), Some(">=2.7"));
        let old = package(&lock, "idna", "2.10");
        let new = package(&lock, "idna", "3.4");
        let filenames = |p: &Package| p.artifacts.iter().map(|a| a.filename.clone().unwrap()).collect::<Vec<_>>();
        assert_eq!(filenames(old), ["idna-2.10-py2.py3-none-any.whl", "idna-2.10.tar.gz"]);
        assert_eq!(filenames(new), ["idna-3.4-py3-none-any.whl", "idna-3.4.tar.gz"]);
        assert_eq!(new.artifacts[1].hashes[0].location.line, line_of(LOCK_1_1, "idna-3.4.tar.gz"));
        assert_eq!((old.location.line, new.location.line), (1, 9), "their [[package]] lines");
        assert_eq!(groups(old), [Selector::Default]);
        // `[metadata.files]` keys are names as written; a file name that is no distribution's
        // is kept.
        let pysocks = package(&lock, "pysocks", "1.7.1");
        assert_eq!(groups(pysocks), [Selector::group("dev")]);
        assert_eq!(filenames(pysocks), ["PySocks-1.7.1-py3-none-any.whl", "PySocks.whl"]);
        assert!(pysocks.marker.is_true());
        assert_eq!(pysocks.dependencies, Some(Vec::new()));
    }

    #[test]
    fn python_versions_constraints_become_pep440() {
        for (poetry, pep440) in [
            ("^3.9", Some(">=3.9,<4.0")),
            ("^3", Some(">=3,<4")),
            ("^0.2.3", Some(">=0.2.3,<0.3.0")),
            ("^0.0.3", Some(">=0.0.3,<0.0.4")),
            ("^0.0", Some(">=0.0,<0.1")),
            ("~3.9", Some(">=3.9,<3.10")),
            ("~3.9.1", Some(">=3.9.1,<3.10.0")),
            ("~3", Some(">=3,<4")),
            ("~=3.9", Some("~=3.9")),
            (">=3.8,<4.0", Some(">=3.8,<4.0")),
            (">= 3.8, < 4.0", Some(">=3.8,<4.0")),
            (">=3.8 <4.0", Some(">=3.8,<4.0")),
            ("3.11.*", Some("==3.11.*")),
            ("3.11", Some("==3.11")),
            ("=3.11", Some("==3.11")),
            ("!=3.0.*,>=2.7", Some("!=3.0.*,>=2.7")),
            (">=2.7,<2.8 || >=3.6", Some(">=2.7")),
            ("^3.10 | ~3.8", Some(">=3.8")),
            ("*", None),
            ("", None),
            ("<3.13 || >=3.14", None),
            ("^3.9b1", None),
            (">=", None),
            ("^", None),
        ] {
            assert_eq!(requires_python(poetry).as_deref(), pep440, "{poetry:?}");
        }
    }

    #[test]
    fn unsupported_lock_versions_are_refused_at_their_line() {
        let line = line_of(LOCK_2_1, "lock-version");
        for version in ["3.0", "1.0", "2.2", "two"] {
            let text = LOCK_2_1.replace("lock-version = \"2.1\"", &format!("lock-version = \"{version}\""));
            assert_eq!(
                error(&text),
                format!(
                    "poetry.lock:{line}: lock-version {version} is not supported: hashlock reads poetry.lock lock-version 1.1 to 2.1"
                )
            );
        }
        // Refused for its version even where the rest is not what this reader knows.
        let newer = "[[package]]\nname = 5\n\n[metadata]\nlock-version = \"3.0\"\n";
        assert!(error(newer).starts_with("poetry.lock:5: lock-version 3.0 is not supported"), "{}", error(newer));
        assert_eq!(read(&LOCK_2_1.replace("lock-version = \"2.1\"", "lock-version = \"2.0\"")).packages.len(), 9);
    }

    #[test]
    fn other_formats_are_told_apart() {
        let uv = "version = 1\nrequires-python = \">=3.9\"\n\n[[package]]\nname = \"six\"\nversion = \"1.16.0\"\n";
        assert_eq!(
            error(uv),
            "poetry.lock:1: does not look like a poetry.lock: no [metadata] lock-version; pass --lock-format if it is another format"
        );
        assert_eq!(
            error("{\n  \"_meta\": {}\n}\n"),
            "poetry.lock:1: does not look like a poetry.lock: it is JSON, not TOML; pass --lock-format if it is another format"
        );
    }

    #[test]
    fn malformed_locks_are_one_line_errors_at_the_line() {
        let cases = [
            (LOCK_2_1.replace("version = \"0.4.6\"", "version = \"0.4.6"), line_of(LOCK_2_1, "version = \"0.4.6\"")),
            (LOCK_2_1.replace("version = \"0.4.6\"", "version = 0.4"), line_of(LOCK_2_1, "version = \"0.4.6\"")),
            (LOCK_2_1.replace("version = \"0.4.6\"", "version = \"zero\""), line_of(LOCK_2_1, "version = \"0.4.6\"")),
            (LOCK_2_1.replace("name = \"colorama\"", "name = \"-colorama\""), line_of(LOCK_2_1, "name = \"colorama\"")),
            (LOCK_2_1.replace("sha256:7f93", "sha256:xx93"), line_of(LOCK_2_1, "sha256:7f93")),
            (
                LOCK_2_1.replace("sys_platform == \\\"win32\\\"\"\nfiles", "sys_platform === \\\"win32\\\"\"\nfiles"),
                line_of(LOCK_2_1, "markers = \"sys_platform"),
            ),
            (LOCK_2_1.replace("{file = \"colorama", "{name = \"colorama"), line_of(LOCK_2_1, "colorama-0.4.6-py2")),
            // Within a dependency's constraints, at the dependency.
            (LOCK_2_1.replace("extras = [\"SOCKS\"", "extras = [\"SOCKS_\""), line_of(LOCK_2_1, "urllib3 = [")),
        ];
        assert_errors_at(&cases, "poetry.lock", |text| parse(text, Path::new("poetry.lock")));
        assert_eq!(
            error(&LOCK_2_1.replace("sha256:7f93", "sha256:xx93")),
            format!(
                "poetry.lock:{}: `sha256:xx930ee0859e399356040403c2f097b1439b83b5e33279e4e4460bf7a307bd31` is not a hash: write it as algorithm:hex, like sha256:…",
                line_of(LOCK_2_1, "sha256:7f93")
            )
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in texts(vec![LOCK_2_1, LOCK_1_1])) {
            let _ = parse(&text, Path::new("poetry.lock"));
        }
    }
}
