//! Reader for PDM's `pdm.lock`, lock_version 4.x: packages with their groups, markers,
//! dependencies and files (by name, or by URL with `static_urls`). PDM writes a package
//! installed with extras twice, once with an `extras` key; the two are one package here.

use std::path::Path;
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerTree, PackageName};
use serde::Deserialize;
use toml::Spanned;

use crate::index::http::redact_text;
use crate::lockfile::reader::{
    ExtrasRequest, FileEntry, LockText, SourceKeys, add_requested_extras, any_of, selector, unhashable,
};
use crate::lockfile::{Artifact, LockFormat, Lockfile, LockfileError, Package, Selector};

/// What decides whether the rest can be read, read first so that a newer format is refused
/// for its version rather than for a key it changed.
#[derive(Deserialize)]
struct Header {
    metadata: Option<HeaderMetadata>,
}

#[derive(Deserialize)]
struct HeaderMetadata {
    lock_version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
struct PdmLock {
    #[serde(default)]
    package: Vec<Spanned<PdmPackage>>,
    metadata: Metadata,
}

#[derive(Deserialize)]
struct Metadata {
    /// Before lock targets (lock_version 4.5), the project's.
    requires_python: Option<String>,
    /// The environments the lock is for; it covers any of them.
    #[serde(default)]
    targets: Vec<LockTarget>,
}

#[derive(Deserialize)]
struct LockTarget {
    requires_python: Option<String>,
}

#[derive(Deserialize)]
struct PdmPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    #[serde(default)]
    extras: Vec<Spanned<String>>,
    marker: Option<Spanned<String>>,
    #[serde(default)]
    groups: Vec<String>,
    /// PEP 508 requirements (or `-e URL#egg=NAME` for editables).
    #[serde(default)]
    dependencies: Vec<Spanned<String>>,
    #[serde(default)]
    files: Vec<Spanned<FileEntry>>,
    #[serde(flatten)]
    source: SourceKeys,
}

/// Parses `text` as the contents of `path`, a `pdm.lock`.
pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    let lock_text = LockText::new(text, path, LockFormat::Pdm);
    let header: Header = lock_text.toml()?;
    let Some(lock_version) = header.metadata.and_then(|metadata| metadata.lock_version) else {
        return Err(lock_text.not_this_format("no [metadata] lock_version"));
    };
    lock_text.check_format_version(&lock_version, "lock_version", "pdm.lock lock_version 4.x", |version| {
        let version = version.as_str().and_then(|version| Version::from_str(version).ok());
        version.is_some_and(|version| version.release().first() == Some(&4))
    })?;
    let lock: PdmLock = lock_text.toml()?;
    read(&lock_text, &lock)
}

fn read(text: &LockText, lock: &PdmLock) -> Result<Lockfile, LockfileError> {
    let mut lockfile = Lockfile::new(text.path, LockFormat::Pdm);
    // PDM locks for every platform unless told otherwise, and a lock for some targets still
    // holds markers for where each package applies.
    lockfile.universal = true;
    lockfile.requires_python = if lock.metadata.targets.is_empty() {
        lock.metadata.requires_python.clone()
    } else {
        let targets: Vec<String> =
            lock.metadata.targets.iter().map(|target| target.requires_python.clone().unwrap_or_default()).collect();
        any_of(&targets).filter(|specifiers| !specifiers.is_empty())
    };
    // Each package with whether its source is a local directory (the user's own tree).
    let mut packages: Vec<(Package, bool)> = Vec::new();
    let mut requested: Vec<ExtrasRequest> = Vec::new();
    for spanned in &lock.package {
        let raw = spanned.get_ref();
        let (package, asked) = package(text, raw, spanned.span().start)?;
        for (name, extras) in asked {
            requested.push(ExtrasRequest { marker: package.marker.clone(), name, extras });
        }
        let local_tree = raw.source.is_local_tree();
        match packages.iter_mut().find(|(seen, _)| seen.name == package.name && seen.version == package.version) {
            Some(seen) => merge(seen, (package, local_tree)),
            None => packages.push((package, local_tree)),
        }
    }
    for (package, local_tree) in packages {
        lockfile.findings.extend(unhashable(&package, local_tree));
        lockfile.packages.push(package);
    }
    add_requested_extras(&mut lockfile.packages, &requested);
    Ok(lockfile)
}

/// The extras an entry asks of its dependencies (`name[extra]`), by dependency.
type AskedExtras = Vec<(PackageName, Vec<ExtraName>)>;

/// The package an entry (its table starting at `at`) describes, and the extras it asks of its
/// dependencies.
fn package(text: &LockText, raw: &PdmPackage, at: usize) -> Result<(Package, AskedExtras), LockfileError> {
    let name = text.name(raw.name.get_ref(), raw.name.span().start)?;
    let marker = match &raw.marker {
        Some(marker) => text.marker(marker.get_ref(), marker.span().start)?,
        None => MarkerTree::TRUE,
    };
    let extras =
        raw.extras.iter().map(|extra| text.extra(extra.get_ref(), extra.span().start)).collect::<Result<_, _>>()?;
    let mut dependencies = Vec::new();
    let mut asked = Vec::new();
    for dependency in &raw.dependencies {
        let (dependency_name, extras) = requirement_name(text, dependency)?;
        // The entry for `name[extra]` depends on `name` itself.
        if dependency_name != name {
            dependencies.push(dependency_name.clone());
        }
        if !extras.is_empty() {
            asked.push((dependency_name, extras));
        }
    }
    // PDM's lock names the project's extras and its dependency groups alike.
    let groups = raw
        .groups
        .iter()
        .flat_map(|group| match selector(group, "default") {
            Selector::Default => vec![Selector::Default],
            group_selector => vec![group_selector, Selector::extra(group)],
        })
        .collect();
    let package = Package {
        version: Some(text.version(raw.version.get_ref(), raw.version.span().start)?),
        marker,
        extras,
        index: None,
        artifacts: raw.files.iter().map(|entry| text.artifact(entry)).collect::<Result<_, _>>()?,
        dependencies: Some(dependencies),
        groups,
        non_index_source: raw.source.non_index_source(),
        attestation_identities: Vec::new(),
        location: text.location(at),
        name,
    };
    Ok((package, asked))
}

/// `other`, an entry of the same package (with extras), into `seen`, the first entry; each
/// with whether its source is a local tree.
fn merge((seen, seen_local_tree): &mut (Package, bool), (other, other_local_tree): (Package, bool)) {
    seen.extras.extend(other.extras);
    seen.marker.or(other.marker);
    seen.groups.extend(other.groups);
    if let Some(dependencies) = &mut seen.dependencies {
        for dependency in other.dependencies.into_iter().flatten() {
            if !dependencies.contains(&dependency) {
                dependencies.push(dependency);
            }
        }
    }
    // Every entry's files are audited: a hash only the extras entry records is a hash too. The
    // same file with the same hashes (at other lines) is one.
    let recorded = |artifact: &Artifact| {
        let hashes: Vec<(String, String)> =
            artifact.hashes.iter().map(|h| (h.algorithm.clone(), h.hex.clone())).collect();
        (artifact.filename.clone(), hashes)
    };
    for artifact in other.artifacts {
        if !seen.artifacts.iter().any(|known| recorded(known) == recorded(&artifact)) {
            seen.artifacts.push(artifact);
        }
    }
    if seen.non_index_source.is_none() {
        seen.non_index_source = other.non_index_source;
        *seen_local_tree = other_local_tree;
    }
}

/// The name and extras a dependency names: the start of a PEP 508 requirement (whatever
/// follows, a version, URL or marker, is not needed), or the `#egg=` of an editable.
fn requirement_name(
    text: &LockText,
    dependency: &Spanned<String>,
) -> Result<(PackageName, Vec<ExtraName>), LockfileError> {
    let at = dependency.span().start;
    let written = dependency.get_ref().trim();
    let named = match written.strip_prefix("-e ") {
        Some(editable) => editable.split_once("#egg=").map_or("", |(_, egg)| egg),
        None => written,
    };
    let name_end =
        named.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))).unwrap_or(named.len());
    if name_end == 0 {
        let written = redact_text(written);
        return Err(text.invalid(at, format!("dependency `{written}` does not start with a package name")));
    }
    let name = text.name(&named[..name_end], at)?;
    let rest = named[name_end..].trim_start();
    let extras = match rest.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
        Some((extras, _)) => extras
            .split(',')
            .map(str::trim)
            .filter(|extra| !extra.is_empty())
            .map(|extra| text.extra(extra, at))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    Ok((name, extras))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::findings::{Code, Severity};
    use crate::lockfile::reader::test_support::{assert_errors_at, line_of, texts};

    /// A PDM 2.29 lock (lock_version 4.5.1), cut down: two targets, files by URL
    /// (`static_urls`), `requests` written again for its `socks` extra, a Git and an editable
    /// package.
    const LOCK: &str = r#"# This file is @generated by PDM.
# It is not intended for manual editing.

[metadata]
groups = ["default", "dev"]
strategy = ["inherit_metadata", "static_urls"]
lock_version = "4.5.1"
content_hash = "sha256:d6ba67df134f1211fbd698dc023913ecebe559ad27b7658bfd18291bb3f36546"

[[metadata.targets]]
requires_python = ">=3.10"

[[metadata.targets]]
requires_python = "==3.9.*"
platform = "windows_amd64"

[[package]]
name = "colorama"
version = "0.4.6"
requires_python = "!=3.0.*,!=3.1.*,!=3.2.*,!=3.3.*,!=3.4.*,!=3.5.*,!=3.6.*,>=2.7"
summary = "Cross-platform colored terminal text."
groups = ["dev"]
marker = "sys_platform == \"win32\""
files = [
    {url = "http://127.0.0.1:9/files/d1/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:7f930ee0859e399356040403c2f097b1439b83b5e33279e4e4460bf7a307bd31"},
]

[[package]]
name = "local-tools"
version = "0.1.0"
requires_python = ">=3.9"
editable = true
path = "./tools"
summary = ""
groups = ["dev"]

[[package]]
name = "pysocks"
version = "1.7.1"
requires_python = ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"
summary = "A Python SOCKS client module."
groups = ["default"]
files = [
    {file = "PySocks-1.7.1-py3-none-any.whl", hash = "sha256:2725bd0a9925919b9b51739eea5f9e2bae91e83288108a9ad338b2e3a4435ee5"},
    {file = "PySocks-1.7.1.tar.gz", hash = "sha256:3f8804571ebe159c380ac6de37643bb4685970655d3bba243530d6558b799aa0"},
]

[[package]]
name = "requests"
version = "2.32.3"
requires_python = ">=3.8"
summary = "Python HTTP for Humans."
groups = ["default"]
dependencies = [
    "certifi>=2017.4.17",
    "urllib3[zstd]<3,>=1.21.1",
]
files = [
    {url = "http://127.0.0.1:9/files/63/requests-2.32.3.tar.gz", hash = "sha256:9f66f60b72fa17698c5f5f2511db1c139eb9fbf3dc52bc60a1d6d79c0a56b038"},
    {url = "http://127.0.0.1:9/files/f9/requests-2.32.3-py3-none-any.whl#sha256=5d3a", hash = "sha256:5d3afea1ef9a9ce40e9a5ac897036cafb93b58cd14558e0183af57cfeedcd6fe"},
]

[[package]]
name = "requests"
version = "2.32.3"
extras = ["socks"]
requires_python = ">=3.8"
summary = "Python HTTP for Humans."
groups = ["default", "dev"]
marker = "python_version >= \"3.10\""
dependencies = [
    "PySocks!=1.5.7,>=1.5.6",
    "requests==2.32.3",
]
files = [
    {url = "http://127.0.0.1:9/files/63/requests-2.32.3.tar.gz", hash = "sha256:9f66f60b72fa17698c5f5f2511db1c139eb9fbf3dc52bc60a1d6d79c0a56b038"},
    {url = "http://127.0.0.1:9/files/f9/requests-2.32.3-py3-none-any.whl#sha256=5d3a", hash = "sha256:5d3afea1ef9a9ce40e9a5ac897036cafb93b58cd14558e0183af57cfeedcd6fe"},
]

[[package]]
name = "tomli"
version = "2.5.0"
requires_python = ">=3.8"
summary = "A lil' TOML parser"
groups = ["default", "dev"]
marker = "python_version < \"3.11\""
dependencies = [
    "-e file:///${PROJECT_ROOT}/tools#egg=local-tools[cli]",
    "six @ git+https://git.example/six.git@1.16.0 ; python_version < \"3\"",
]
files = [
    {url = "http://127.0.0.1:9/files/e2/tomli-2.5.0%2Blocal-py3-none-any.whl", hash = "sha256:20365bfafea2738b2ee4982e6c2b55b7296480f3e9d70c006358f2b7e63c0e41"},
]

[[package]]
name = "vendored"
version = "1.0.0"
requires_python = ">=3.8"
git = "https://ci:t0ken@git.example/org/vendored.git"
ref = "v1"
revision = "0123456789abcdef0123456789abcdef01234567"
summary = ""
groups = ["default"]
"#;

    fn read(text: &str) -> Lockfile {
        parse(text, Path::new("pdm.lock")).unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("pdm.lock")).unwrap_err().to_string()
    }

    fn package<'a>(lock: &'a Lockfile, name: &str) -> &'a Package {
        lock.packages.iter().find(|p| p.name.as_ref() == name).unwrap()
    }

    fn names<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
        items.iter().map(AsRef::as_ref).collect()
    }

    #[test]
    fn packages_with_their_groups_markers_and_files() {
        let lock = read(LOCK);
        assert!(lock.universal);
        // Either target: the lowest Python of the two.
        assert_eq!(lock.requires_python.as_deref(), Some(">=3.9"));
        let colorama = package(&lock, "colorama");
        assert_eq!(colorama.location.line, line_of(LOCK, "name = \"colorama\"") - 1, "its [[package]] line");
        assert_eq!(colorama.marker.try_to_string().as_deref(), Some("sys_platform == 'win32'"));
        assert_eq!(colorama.groups, [Selector::group("dev"), Selector::extra("dev")].into());
        let artifact = &colorama.artifacts[0];
        assert_eq!(artifact.filename.as_deref(), Some("colorama-0.4.6-py2.py3-none-any.whl"));
        assert_eq!(artifact.url.as_deref(), Some("http://127.0.0.1:9/files/d1/colorama-0.4.6-py2.py3-none-any.whl"));
        let line = line_of(LOCK, "files/d1/colorama");
        assert_eq!((artifact.location.line, artifact.hashes[0].location.line), (line, line));
        // By `file`, or the last segment of the URL, percent-decoded and without its fragment.
        let filenames =
            |name: &str| package(&lock, name).artifacts.iter().map(|a| a.filename.clone().unwrap()).collect::<Vec<_>>();
        assert_eq!(filenames("pysocks"), ["PySocks-1.7.1-py3-none-any.whl", "PySocks-1.7.1.tar.gz"]);
        assert_eq!(filenames("tomli"), ["tomli-2.5.0+local-py3-none-any.whl"]);
        assert_eq!(filenames("requests"), ["requests-2.32.3.tar.gz", "requests-2.32.3-py3-none-any.whl"]);
        assert_eq!(package(&lock, "pysocks").groups, [Selector::Default].into());
        assert!(package(&lock, "pysocks").marker.is_true());
    }

    #[test]
    fn an_entry_with_extras_is_the_same_package() {
        let lock = read(LOCK);
        let requests: Vec<&Package> = lock.packages.iter().filter(|p| p.name.as_ref() == "requests").collect();
        let [requests] = requests.as_slice() else { panic!("{requests:?}") };
        // At the first entry.
        let first = LOCK.find("name = \"requests\"").unwrap();
        assert_eq!(requests.location.line, LOCK[..first].lines().count(), "its [[package]] line");
        assert_eq!(names(&requests.extras), ["socks"]);
        // Installed everywhere by the first entry, in the groups of both.
        assert!(requests.marker.is_true());
        assert_eq!(requests.groups, [Selector::Default, Selector::group("dev"), Selector::extra("dev")].into());
        assert_eq!(requests.artifacts.len(), 2);
        // A hash only the extras entry records is audited too, at its own line.
        let tampered_hash = format!("sha256:{}", "ef".repeat(32));
        let second = LOCK.rfind("hash = \"sha256:9f66").unwrap();
        let tampered = format!("{}hash = \"{tampered_hash}\"{}", &LOCK[..second], &LOCK[second + 80..]);
        let merged = read(&tampered);
        let hexes: Vec<&str> =
            package(&merged, "requests").artifacts.iter().flat_map(|a| &a.hashes).map(|h| h.hex.as_str()).collect();
        assert_eq!(hexes.len(), 3, "{hexes:?}");
        assert!(hexes.contains(&"ef".repeat(32).as_str()));
        assert_eq!(names(requests.dependencies.as_deref().unwrap()), ["certifi", "urllib3", "pysocks"]);
        // The extras asked of a dependency are its extras, with or without an entry of its own.
        let tomli = package(&lock, "tomli");
        assert_eq!(names(tomli.dependencies.as_deref().unwrap()), ["local-tools", "six"]);
        assert_eq!(names(&package(&lock, "local-tools").extras), ["cli"]);
    }

    #[test]
    fn git_and_editable_packages_are_unhashable() {
        let lock = read(LOCK);
        assert_eq!(package(&lock, "local-tools").non_index_source.as_deref(), Some("editable path ./tools"));
        let vendored = package(&lock, "vendored");
        assert_eq!(vendored.non_index_source.as_deref(), Some("git https://ci:t0ken@git.example/org/vendored.git"));
        let found: Vec<(Code, Severity, Option<&str>, Option<String>)> =
            lock.findings.iter().map(|f| (f.code, f.severity, f.package.as_deref(), f.location.clone())).collect();
        assert_eq!(
            found,
            [
                // A local directory: the user's own tree.
                (
                    Code::Unhashable,
                    Severity::Info,
                    Some("local-tools"),
                    Some(format!("pdm.lock:{}", line_of(LOCK, "name = \"local-tools\"") - 1))
                ),
                (
                    Code::Unhashable,
                    Severity::Error,
                    Some("vendored"),
                    Some(format!("pdm.lock:{}", line_of(LOCK, "name = \"vendored\"") - 1))
                ),
            ]
        );
        // A path to an archive is a file that could be swapped.
        let archive = read(&LOCK.replace("path = \"./tools\"", "path = \"./dist/local_tools-0.1.0.tar.gz\""));
        assert_eq!(archive.findings[0].severity, Severity::Error);
        assert!(lock.findings.iter().all(|f| !f.message.contains("t0ken")));
        assert_eq!(package(&lock, "pysocks").non_index_source, None);
    }

    #[test]
    fn requires_python_without_targets_is_the_projects() {
        let old = "[metadata]\nlock_version = \"4.4\"\nrequires_python = \">=3.8\"\n";
        assert_eq!(read(old).requires_python.as_deref(), Some(">=3.8"));
        let one = "[metadata]\nlock_version = \"4.5.0\"\n[[metadata.targets]]\nrequires_python = \"~=3.11\"\n";
        assert_eq!(read(one).requires_python.as_deref(), Some("~=3.11"));
        let unbounded = "[metadata]\nlock_version = \"4.5.0\"\n[[metadata.targets]]\nplatform = \"linux\"\n";
        assert_eq!(read(unbounded).requires_python, None);
    }

    #[test]
    fn versions_and_other_formats_are_refused() {
        let line = line_of(LOCK, "lock_version");
        for version in ["5.0.0", "3.0", "four"] {
            assert_eq!(
                error(&LOCK.replace("lock_version = \"4.5.1\"", &format!("lock_version = \"{version}\""))),
                format!(
                    "pdm.lock:{line}: lock_version {version} is not supported: hashlock reads pdm.lock lock_version 4.x"
                )
            );
        }
        let poetry = "[[package]]\nname = \"six\"\n\n[metadata]\nlock-version = \"2.1\"\n";
        assert_eq!(
            error(poetry),
            "pdm.lock:1: does not look like a pdm.lock: no [metadata] lock_version; pass --lock-format if it is another format"
        );
    }

    #[test]
    fn malformed_locks_are_one_line_errors_at_the_line() {
        let cases = [
            (
                LOCK.replace("groups = [\"dev\"]\nmarker", "groups = [\"dev\"\nmarker"),
                line_of(LOCK, "marker = \"sys_platform"),
            ),
            (
                LOCK.replace("marker = \"sys_platform == \\\"win32\\\"\"", "marker = \"sys_platform = 1\""),
                line_of(LOCK, "marker = \"sys_platform"),
            ),
            (
                LOCK.replace(
                    "\"-e file:///${PROJECT_ROOT}/tools#egg=local-tools[cli]\"",
                    "\"-e file:///${PROJECT_ROOT}/tools\"",
                ),
                line_of(LOCK, "-e file"),
            ),
            (LOCK.replace("extras = [\"socks\"]", "extras = [\"socks-\"]"), line_of(LOCK, "extras = [\"socks\"]")),
            (LOCK.replace("http://127.0.0.1:9/files/d1/colorama", "colorama"), line_of(LOCK, "files/d1/colorama")),
            (LOCK.replace("version = \"1.0.0\"", "version = [1]"), line_of(LOCK, "version = \"1.0.0\"")),
        ];
        assert_errors_at(&cases, "pdm.lock", |text| parse(text, Path::new("pdm.lock")));
        assert_eq!(
            error(&LOCK.replace("#egg=local-tools[cli]", "")),
            format!(
                "pdm.lock:{}: dependency `-e file:///${{PROJECT_ROOT}}/tools` does not start with a package name",
                line_of(LOCK, "-e file")
            )
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in texts(vec![LOCK])) {
            let _ = parse(&text, Path::new("pdm.lock"));
        }
    }
}
