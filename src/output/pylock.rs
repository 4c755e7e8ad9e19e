//! The PEP 751 lock hashlock writes (`pylock.toml`, lock-version 1.0), for `pip install -r
//! pylock.toml` (pip 26). pip installs from it without asking the index: per package it takes
//! the wheel its tags rank best, else the sdist, fetches it from the `url` written here and
//! checks it against every hash written for that file. It validates the whole file first and
//! rejects it over one name or value it cannot parse, so only what pip reads as meant is
//! written: wheels and `.tar.gz`/`.zip` sdists whose names packaging parses as files of the
//! package, hashes of the algorithms `--require-hashes` accepts (pip trusts any one match, so a
//! weak digest would weaken the check), markers PEP 508 can quote, times that are real.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};

use super::line;
use super::requirements::{Header, Refused as Unquotable};
use crate::check::attestations::PublishersByPin;
use crate::dist::{DistFile, FilenameParts, SdistExtension, UploadTime};
use crate::index::http::redact_text;
use crate::index::provenance::Publisher as Claim;
use crate::lock::{Lock, LockedPackage, PIP_ALGORITHMS, pip_hash};
use crate::resolve::markers::to_string_quoted;
use crate::target::Target;

/// The lock's text, and why files of pinned versions were left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pylock {
    pub text: String,
    /// One line per file, for a warning: `lib 1.0: lib-1.0.tar.bz2 left out: …`. Files without
    /// a hash pip accepts are not listed here: `generate` reports those already.
    pub left_out: Vec<String>,
}

/// A pin that cannot be written so that pip installs it as meant.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Marker(#[from] Unquotable),
    #[error(
        "{package} {version}: no file to write: pylock.toml takes wheels and .tar.gz or .zip sdists, with a sha256, sha384 or sha512 hash"
    )]
    NoFile { package: String, version: String },
}

/// The lock for `target`, packages in lock order (by name, then version); each package in
/// `publishers` is locked to those Trusted Publishers (`attestation-identities`).
pub fn render(lock: &Lock, header: &Header, target: &Target, publishers: &PublishersByPin) -> Result<Pylock, Refused> {
    let mut out = String::new();
    let mut left_out = Vec::new();
    key(&mut out, "lock-version", &string("1.0"));
    if let Some(environment) = environment(target) {
        key(&mut out, "environments", &format!("[{}]", string(&environment)));
    }
    key(&mut out, "requires-python", &string(&requires_python(target)));
    key(&mut out, "created-by", &string("hashlock"));
    if lock.packages.is_empty() {
        key(&mut out, "packages", "[]");
    }
    for package in &lock.packages {
        let identities = publishers.get(&(package.name.clone(), package.version.clone()));
        render_package(&mut out, package, identities.map_or(&[], Vec::as_slice), &mut left_out)?;
    }
    out.push_str("\n[tool.hashlock]\n");
    key(&mut out, "version", &string(env!("CARGO_PKG_VERSION")));
    key(&mut out, "command", &string(&header.command));
    key(&mut out, "target", &string(&header.target));
    let indexes: Vec<String> = header.indexes.iter().map(|index| string(index)).collect();
    key(&mut out, "indexes", &format!("[{}]", indexes.join(", ")));
    if !header.stale.is_empty() {
        let stale: Vec<String> = header.stale.iter().map(|page| string(page)).collect();
        key(&mut out, "stale-pages", &format!("[{}]", stale.join(", ")));
    }
    Ok(Pylock { text: out, left_out })
}

/// A single target as one marker (pip refuses the lock where it does not hold); none for a
/// universal lock, whose package markers already say where each package applies.
fn environment(target: &Target) -> Option<String> {
    if target.is_universal() {
        return None;
    }
    let environment = target.marker_environment();
    Some(format!(
        "implementation_name == '{}' and python_version == '{}' and sys_platform == '{}' and platform_machine == '{}'",
        environment.implementation_name(),
        environment.python_version(),
        environment.sys_platform(),
        environment.platform_machine()
    ))
}

/// The Pythons the lock was resolved for: from the lowest up for a universal lock; for a single
/// target its `X.Y` series, from the patch release it was resolved for (a file may need
/// `>=3.11.5`) when that is not `X.Y.0`.
fn requires_python(target: &Target) -> String {
    let (major, minor) = target.python;
    if target.is_universal() {
        return format!(">={major}.{minor}");
    }
    let series = format!("=={major}.{minor}.*");
    let resolved_for = target.python_full_version();
    if resolved_for == Version::new([major, minor, 0]) { series } else { format!(">={resolved_for}, {series}") }
}

fn render_package(
    out: &mut String,
    package: &LockedPackage,
    identities: &[Claim],
    left_out: &mut Vec<String>,
) -> Result<(), Refused> {
    let (name, version) = (package.name.to_string(), package.version.to_string());
    let files = Files::of(package, left_out);
    if files.sdist.is_none() && files.wheels.is_empty() {
        return Err(Refused::NoFile { package: name, version });
    }
    let marker = to_string_quoted(&package.marker, line::quoted).map_err(|why| Unquotable {
        package: name.clone(),
        version: version.clone(),
        part: "marker",
        why,
    })?;
    out.push_str("\n[[packages]]\n");
    key(out, "name", &string(&name));
    key(out, "version", &string(&version));
    if let Some(marker) = marker {
        key(out, "marker", &string(&marker));
    }
    if let Some(requires_python) = files.requires_python() {
        key(out, "requires-python", &string(&requires_python));
    }
    if let Some(index) = index_of(package) {
        key(out, "index", &string(index));
    }
    if let Some(sdist) = files.sdist {
        render_file(out, "[packages.sdist]", sdist);
    }
    for wheel in &files.wheels {
        render_file(out, "[[packages.wheels]]", wheel);
    }
    for identity in identities {
        render_identity(out, identity);
    }
    Ok(())
}

/// A publisher as PEP 751 records it: its `kind`, then its keys (those the index leaves null
/// are not set, which TOML cannot say).
fn render_identity(out: &mut String, identity: &Claim) {
    out.push_str("\n[[packages.attestation-identities]]\n");
    key(out, "kind", &string(&identity.kind));
    let mut keys: Vec<(&String, &serde_json::Value)> = identity.keys.iter().collect();
    keys.sort_by_key(|(name, _)| *name);
    for (name, value) in keys {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => key(out, &key_name(name), &string(text)),
            // Verified publishers carry strings only; anything else is written as its JSON text.
            other => key(out, &key_name(name), &string(&other.to_string())),
        }
    }
}

/// The files of a pinned version that go into the lock.
struct Files<'p> {
    sdist: Option<&'p DistFile>,
    /// By filename.
    wheels: Vec<&'p DistFile>,
}

impl<'p> Files<'p> {
    /// Without files pip cannot check, each filename once (the first index's entry: indexes
    /// listing one file agree on it, or `generate` stops), and one sdist (PEP 751 holds one):
    /// `.tar.gz` (PEP 625) before `.zip`.
    fn of(package: &'p LockedPackage, left_out: &mut Vec<String>) -> Self {
        let mut leave_out = |file: &DistFile, why: &str| {
            left_out.push(format!("{} {}: {} left out: {why}", package.name, package.version, file.filename));
        };
        let mut seen = BTreeSet::new();
        let mut sdists = Vec::new();
        let mut wheels = Vec::new();
        for file in &package.files {
            if pip_hash(file).is_none() || !seen.insert(file.filename.as_str()) {
                continue;
            }
            match FilenameParts::split(&file.filename, &package.name) {
                Some(parts) if !packaging_parses(&file.filename, &parts) => {
                    leave_out(file, "pip's lock reader would not parse its name, and reject the whole lock");
                }
                Some(FilenameParts::Wheel { .. }) => wheels.push(file),
                Some(FilenameParts::Sdist { extension, .. }) => sdists.push((extension != SdistExtension::TarGz, file)),
                None => leave_out(file, "not a wheel or sdist of the package"),
            }
        }
        sdists.sort_by_key(|&(not_tar_gz, file)| (not_tar_gz, &file.filename));
        let mut sdists = sdists.into_iter().map(|(_, file)| file);
        let sdist = sdists.next();
        for extra in sdists {
            let kept = sdist.map_or("", |kept| &kept.filename);
            leave_out(extra, &format!("a pylock.toml holds one sdist per package, here {kept}"));
        }
        wheels.sort_by(|a, b| a.filename.cmp(&b.filename));
        Self { sdist, wheels }
    }

    /// The `requires-python` every file declares alike, normalised; none when they differ or
    /// one declares none (pip fails the install where a package's `requires-python` fails, so
    /// it must hold for every file pip may pick).
    fn requires_python(&self) -> Option<String> {
        let mut declared = self
            .sdist
            .iter()
            .chain(&self.wheels)
            .map(|file| file.requires_python.as_deref().and_then(|text| VersionSpecifiers::from_str(text).ok()));
        let first = declared.next().flatten()?;
        declared.all(|other| other.as_ref() == Some(&first)).then(|| first.to_string())
    }
}

/// Whether packaging (`parse_wheel_filename`, `parse_sdist_filename`) parses `filename` as the
/// file hashlock's split says it is, beyond what that split checks: no `__` and only word
/// characters and dots in a wheel's name, interpreter tags that are identifiers, only
/// `.tar.gz` and `.zip` sdists, whose version starts after their last dash.
fn packaging_parses(filename: &str, parts: &FilenameParts<'_>) -> bool {
    match parts {
        FilenameParts::Wheel { python, .. } => {
            let name = filename.split('-').next().unwrap_or_default();
            let word = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.');
            !name.contains("__")
                && name.chars().all(word)
                && python.split('.').all(|tag| !tag.starts_with(|c: char| c.is_ascii_digit()))
        }
        FilenameParts::Sdist { version, extension } => {
            !version.contains('-') && (filename.ends_with(".tar.gz") || *extension == SdistExtension::Zip)
        }
    }
}

/// The index the package's files came from, as configured and redacted: the first that lists
/// the version (indexes listing other files of it stop `generate`).
fn index_of(package: &LockedPackage) -> Option<&str> {
    package.sources.first().map(|(index, _)| index.as_str())
}

fn render_file(out: &mut String, table: &str, file: &DistFile) {
    let _ = write!(out, "\n{table}\n");
    key(out, "name", &string(&file.filename));
    if let Some(uploaded) = &file.upload_time {
        // A TOML datetime, bare: `UploadTime` holds only real RFC 3339 UTC times.
        key(out, "upload-time", UploadTime::as_str(uploaded));
    }
    key(out, "url", &string(&redact_text(&file.url)));
    if let Some(size) = file.size.filter(|&size| i64::try_from(size).is_ok()) {
        key(out, "size", &size.to_string());
    }
    let hashes: Vec<String> = PIP_ALGORITHMS
        .iter()
        .filter_map(|algorithm| Some(format!("{algorithm} = {}", string(file.hashes.get(algorithm)?))))
        .collect();
    key(out, "hashes", &format!("{{ {} }}", hashes.join(", ")));
}

fn key(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// `text` as a TOML string, escaped as TOML needs.
/// A key bare where TOML allows it, else a basic string on one line (TOML keys cannot be
/// multi-line strings, which a value with a line break becomes).
fn key_name(name: &str) -> String {
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return name.to_string();
    }
    let mut quoted = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(c));
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::str::FromStr;

    use pep508_rs::pep440_rs::Version;
    use pep508_rs::{MarkerTree, PackageName};
    use proptest::prelude::*;

    use super::*;
    use crate::dist::{CoreMetadata, HashSource, Hashes};

    const SHA256: &str = "5f3c1e6bd1a0e8f6b6b1d1f0c7d2a9e8f3b4c5d6e7f8091a2b3c4d5e6f708192";

    fn file(filename: &str, algorithms: &[&str]) -> DistFile {
        DistFile {
            filename: filename.into(),
            url: format!("https://files.example/{filename}"),
            hashes: algorithms.iter().map(|a| (a.to_string(), format!("{a}-of-{filename}"))).collect::<Hashes>(),
            hash_source: HashSource::JsonPage,
            requires_python: Some(">=3.8".into()),
            yanked: None,
            core_metadata: CoreMetadata::Absent,
            size: Some(filename.len() as u64 * 100),
            upload_time: UploadTime::parse("2024-05-06T07:08:09.101112Z"),
            provenance: None,
        }
    }

    fn package(name: &str, version: &str, marker: &str, files: Vec<DistFile>) -> LockedPackage {
        let filenames = files.iter().map(|f| f.filename.clone()).collect::<BTreeSet<_>>();
        LockedPackage {
            name: PackageName::from_str(name).unwrap(),
            version: Version::from_str(version).unwrap(),
            marker: if marker.is_empty() { MarkerTree::TRUE } else { MarkerTree::from_str(marker).unwrap() },
            required_by: BTreeSet::new(),
            files,
            sources: vec![("https://***@index.example/simple".into(), filenames)],
        }
    }

    fn header(target: &Target) -> Header {
        Header {
            command: "hashlock generate app -o pylock.toml".into(),
            target: target.describe(),
            indexes: vec!["https://user:***@index.example/simple".into()],
            stale: Vec::new(),
        }
    }

    /// A library with an sdist, two wheels and one file an HTML page listed (no size, no
    /// time); one with sha512 only and another with every algorithm; a platform dependency.
    fn lock() -> Lock {
        let mut from_html = file("lib-1.0-cp311-cp311-win_amd64.whl", &["sha256"]);
        (from_html.size, from_html.upload_time, from_html.hash_source) = (None, None, HashSource::HtmlFragment);
        let mut colorama_sdist = file("colorama-0.4.6.tar.gz", &["sha256"]);
        colorama_sdist.requires_python = Some(">=3.7".into());
        Lock {
            packages: vec![
                package(
                    "colorama",
                    "0.4.6",
                    "sys_platform == 'win32'",
                    vec![file("colorama-0.4.6-py2.py3-none-any.whl", &["sha256"]), colorama_sdist],
                ),
                package(
                    "lib",
                    "1.0",
                    "",
                    vec![
                        file("lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", &["sha256"]),
                        file("lib-1.0.tar.gz", &["sha256", "md5"]),
                        from_html,
                    ],
                ),
                package(
                    "strong",
                    "2.0",
                    "python_version >= '3.12'",
                    vec![
                        file("strong-2.0-py3-none-any.whl", &["sha512"]),
                        file("strong-2.0-py2-none-any.whl", &["md5", "sha1", "sha256", "sha384", "sha512"]),
                    ],
                ),
            ],
        }
    }

    fn rendered(lock: &Lock, target: &Target) -> String {
        let pylock = render(lock, &header(target), target, &PublishersByPin::new()).unwrap();
        assert_eq!(pylock.left_out, Vec::<String>::new());
        pylock.text
    }

    /// A package whose files all verified is locked to its publishers, and the pylock reader
    /// reads them back as written, whatever text the index put in them.
    #[test]
    fn attestation_identities_are_written_after_the_files_and_read_back() {
        let target = Target::from_options(Some("3.11"), Some("linux")).unwrap();
        let github = serde_json::json!({
            "kind": "GitHub", "repository": "o/lib", "workflow": "release.yml", "environment": null
        });
        let odd = serde_json::json!({"kind": "Other", "key \"x\"\n[evil]": "v\"\n[[packages]]", "n": 1});
        let claims: Vec<Claim> = [github, odd].into_iter().map(|v| serde_json::from_value(v).unwrap()).collect();
        let lib = (PackageName::from_str("lib").unwrap(), Version::from_str("1.0").unwrap());
        let publishers = PublishersByPin::from([(lib, claims.clone())]);
        let text = render(&lock(), &header(&target), &target, &publishers).unwrap().text;
        let identity = "\n[[packages.attestation-identities]]\nkind = \"GitHub\"\nrepository = \"o/lib\"\nworkflow = \"release.yml\"\n";
        assert!(text.contains(identity), "{text}");
        // TOML reads them back as written (the pylock reader's own test is end to end).
        let read: toml::Table = toml::from_str(&text).unwrap();
        let packages = read["packages"].as_array().unwrap();
        assert_eq!(packages.len(), lock().packages.len(), "no package was added");
        let identities = |name: &str| {
            let package = packages.iter().find(|p| p["name"].as_str() == Some(name)).unwrap();
            package.get("attestation-identities").map(|value| serde_json::to_value(value).unwrap())
        };
        let mut expected = claims;
        expected[0].keys.remove("environment");
        expected[1].keys.insert("n".into(), "1".into());
        assert_eq!(identities("lib"), Some(serde_json::to_value(expected).unwrap()));
        assert_eq!(identities("colorama"), None);
    }

    /// One target: its environment, its Python series, no markers (the resolution had none).
    #[test]
    fn single_target_lock() {
        let target = Target::from_options(Some("3.11"), Some("linux")).unwrap();
        let mut lock = lock();
        lock.packages.retain(|package| package.name.as_ref() != "colorama");
        for package in &mut lock.packages {
            package.marker = MarkerTree::TRUE;
        }
        insta::assert_snapshot!(rendered(&lock, &target), @r#"
        lock-version = "1.0"
        environments = ["implementation_name == 'cpython' and python_version == '3.11' and sys_platform == 'linux' and platform_machine == 'x86_64'"]
        requires-python = "==3.11.*"
        created-by = "hashlock"

        [[packages]]
        name = "lib"
        version = "1.0"
        requires-python = ">=3.8"
        index = "https://***@index.example/simple"

        [packages.sdist]
        name = "lib-1.0.tar.gz"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/lib-1.0.tar.gz"
        size = 1400
        hashes = { sha256 = "sha256-of-lib-1.0.tar.gz" }

        [[packages.wheels]]
        name = "lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
        size = 4500
        hashes = { sha256 = "sha256-of-lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl" }

        [[packages.wheels]]
        name = "lib-1.0-cp311-cp311-win_amd64.whl"
        url = "https://files.example/lib-1.0-cp311-cp311-win_amd64.whl"
        hashes = { sha256 = "sha256-of-lib-1.0-cp311-cp311-win_amd64.whl" }

        [[packages]]
        name = "strong"
        version = "2.0"
        requires-python = ">=3.8"
        index = "https://***@index.example/simple"

        [[packages.wheels]]
        name = "strong-2.0-py2-none-any.whl"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/strong-2.0-py2-none-any.whl"
        size = 2700
        hashes = { sha256 = "sha256-of-strong-2.0-py2-none-any.whl", sha384 = "sha384-of-strong-2.0-py2-none-any.whl", sha512 = "sha512-of-strong-2.0-py2-none-any.whl" }

        [[packages.wheels]]
        name = "strong-2.0-py3-none-any.whl"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/strong-2.0-py3-none-any.whl"
        size = 2700
        hashes = { sha512 = "sha512-of-strong-2.0-py3-none-any.whl" }

        [tool.hashlock]
        version = "0.1.0"
        command = "hashlock generate app -o pylock.toml"
        target = "CPython 3.11, linux x86_64"
        indexes = ["https://user:***@index.example/simple"]
        "#);
    }

    /// Every environment: no `environments`, the lowest Python, each package's marker, and no
    /// `requires-python` for a package whose files declare different ones.
    #[test]
    fn universal_lock() {
        let mut lock = lock();
        lock.packages.truncate(1);
        let only_on = "sys_platform == 'win32' and platform_machine == 'AMD64'";
        lock.packages.push(package(
            "pywin32",
            "306",
            only_on,
            vec![file("pywin32-306-cp311-cp311-win_amd64.whl", &["sha384"])],
        ));
        insta::assert_snapshot!(rendered(&lock, &Target::universal(Some("3.11")).unwrap()), @r#"
        lock-version = "1.0"
        requires-python = ">=3.11"
        created-by = "hashlock"

        [[packages]]
        name = "colorama"
        version = "0.4.6"
        marker = "sys_platform == 'win32'"
        index = "https://***@index.example/simple"

        [packages.sdist]
        name = "colorama-0.4.6.tar.gz"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/colorama-0.4.6.tar.gz"
        size = 2100
        hashes = { sha256 = "sha256-of-colorama-0.4.6.tar.gz" }

        [[packages.wheels]]
        name = "colorama-0.4.6-py2.py3-none-any.whl"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/colorama-0.4.6-py2.py3-none-any.whl"
        size = 3500
        hashes = { sha256 = "sha256-of-colorama-0.4.6-py2.py3-none-any.whl" }

        [[packages]]
        name = "pywin32"
        version = "306"
        marker = "platform_machine == 'AMD64' and sys_platform == 'win32'"
        requires-python = ">=3.8"
        index = "https://***@index.example/simple"

        [[packages.wheels]]
        name = "pywin32-306-cp311-cp311-win_amd64.whl"
        upload-time = 2024-05-06T07:08:09.101112Z
        url = "https://files.example/pywin32-306-cp311-cp311-win_amd64.whl"
        size = 3700
        hashes = { sha384 = "sha384-of-pywin32-306-cp311-cp311-win_amd64.whl" }

        [tool.hashlock]
        version = "0.1.0"
        command = "hashlock generate app -o pylock.toml"
        target = "universal: CPython and PyPy >= 3.11 on Linux, macOS, Windows"
        indexes = ["https://user:***@index.example/simple"]
        "#);
    }

    #[test]
    fn the_environment_is_the_target_and_its_patch_release() {
        let lines = |python: &str, platform: &str| {
            let target = Target::from_options(Some(python), Some(platform)).unwrap();
            let text = render(&Lock { packages: Vec::new() }, &header(&target), &target, &PublishersByPin::new())
                .unwrap()
                .text;
            text.lines().take(3).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(
            lines("3.12.4", "aarch64-macos"),
            "lock-version = \"1.0\"\n\
             environments = [\"implementation_name == 'cpython' and python_version == '3.12' and sys_platform == 'darwin' and platform_machine == 'arm64'\"]\n\
             requires-python = \">=3.12.4, ==3.12.*\""
        );
        assert!(lines("3.13", "windows").contains("sys_platform == 'win32' and platform_machine == 'AMD64'"));
    }

    #[test]
    fn files_pip_would_reject_are_left_out_and_a_package_without_any_is_refused() {
        let target = Target::from_options(Some("3.11"), Some("linux")).unwrap();
        let mut mirrored = package(
            "odd",
            "1.0",
            "",
            vec![
                file("odd-1.0.zip", &["sha256"]),
                file("odd-1.0.tar.bz2", &["sha256"]),
                file("odd-1.0.tgz", &["sha256"]),
                file("odd-1.0.tar.gz", &["sha256"]),
                file("odd-1.0-3x-none-any.whl", &["sha256"]),
                file("odd-1.0-py3-none-any.whl", &["md5"]),
                file("odd-1.0-py3-none-any.whl", &["sha256"]),
            ],
        );
        mirrored.files.push(file("odd-1.0.tar.gz", &["sha384"]));
        let pylock =
            render(&Lock { packages: vec![mirrored] }, &header(&target), &target, &PublishersByPin::new()).unwrap();
        let document: toml::Table = toml::from_str(&pylock.text).unwrap();
        let odd = &document["packages"][0];
        assert_eq!(odd["sdist"]["name"].as_str(), Some("odd-1.0.tar.gz"));
        assert_eq!(odd["sdist"]["hashes"].as_table().unwrap().keys().collect::<Vec<_>>(), ["sha256"]);
        assert_eq!(odd["wheels"].as_array().map(Vec::len), Some(1), "{}", pylock.text);
        assert_eq!(odd["wheels"][0]["name"].as_str(), Some("odd-1.0-py3-none-any.whl"));
        assert_eq!(odd["wheels"][0]["hashes"]["sha256"].as_str(), Some("sha256-of-odd-1.0-py3-none-any.whl"));
        let reasons = [
            "odd-1.0.tar.bz2 left out: pip's lock reader would not parse its name",
            "odd-1.0.tgz left out: pip's lock reader would not parse its name",
            "odd-1.0-3x-none-any.whl left out: pip's lock reader would not parse its name",
            "odd-1.0.zip left out: a pylock.toml holds one sdist per package, here odd-1.0.tar.gz",
        ];
        assert_eq!(pylock.left_out.len(), reasons.len(), "{:#?}", pylock.left_out);
        for reason in reasons {
            assert!(
                pylock.left_out.iter().any(|line| line.starts_with("odd 1.0: ") && line.contains(reason)),
                "{reason}"
            );
        }

        let unhashed =
            package("bare", "1.0", "", vec![file("bare-1.0.tar.bz2", &["sha256"]), file("bare-1.0.zip", &["md5"])]);
        let refused =
            render(&Lock { packages: vec![unhashed] }, &header(&target), &target, &PublishersByPin::new()).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "bare 1.0: no file to write: pylock.toml takes wheels and .tar.gz or .zip sdists, with a sha256, sha384 or sha512 hash"
        );
    }

    /// Values are quoted as in the requirements file: in `"` when they hold a `'`; a line break
    /// in one (which no real environment has) refuses the pin in both formats.
    #[test]
    fn marker_values_are_quoted_for_pep_508_or_refused() {
        let target = Target::universal(Some("3.11")).unwrap();
        let quoted =
            package("q", "1.0", r#"platform_release == "it's""#, vec![file("q-1.0-py3-none-any.whl", &["sha256"])]);
        let written =
            render(&Lock { packages: vec![quoted.clone()] }, &header(&target), &target, &PublishersByPin::new())
                .unwrap();
        let document: toml::Table = toml::from_str(&written.text).unwrap();
        assert_eq!(document["packages"][0]["marker"].as_str(), Some(r#"platform_release == "it's""#));

        let broken = LockedPackage { marker: MarkerTree::from_str("platform_release == 'a\x0cb'").unwrap(), ..quoted };
        let refused =
            render(&Lock { packages: vec![broken] }, &header(&target), &target, &PublishersByPin::new()).unwrap_err();
        assert!(refused.to_string().starts_with("q 1.0: cannot write its marker: "), "{refused}");
    }

    #[test]
    fn names_packaging_rejects_are_found() {
        let parses = |filename: &str, project: &str| {
            let project = PackageName::from_str(project).unwrap();
            packaging_parses(filename, &FilenameParts::split(filename, &project).unwrap())
        };
        assert!(parses("a_b-1.0-py3-none-any.whl", "a-b") && parses("A.b-1.0-1x-cp311-abi3-any.whl", "a-b"));
        assert!(!parses("a__b-1.0-py3-none-any.whl", "a-b"));
        assert!(!parses("a-1.0-py3.3x-none-any.whl", "a"));
        assert!(parses("a-b-1.0.tar.gz", "a-b") && parses("a-1.0.zip", "a"));
        assert!(!parses("a-1.0.tgz", "a") && !parses("a-1.0.tar.bz2", "a"));
    }

    proptest! {
        /// Whatever an index puts in a filename, URL, `requires-python` or marker value, the
        /// file stays TOML with the one package and its text as given.
        #[test]
        fn text_from_the_index_stays_in_its_string(
            url in "\\PC*|.*", requires_python in ".*", release in "[^'\"]*", filename in "[a-z_.]{0,6}"
        ) {
            let target = Target::universal(Some("3.11")).unwrap();
            let filename = format!("demo{filename}-1.0-py3-none-any.whl");
            let mut wheel = file(&filename, &["sha256"]);
            wheel.hashes = Hashes::from([("sha256".into(), SHA256.into())]);
            wheel.url = url.clone();
            wheel.requires_python = Some(requires_python);
            let mut demo = package("demo", "1.0", "", vec![wheel]);
            demo.marker = MarkerTree::from_str(&format!("platform_release == '{release}'")).unwrap_or(MarkerTree::TRUE);
            let Ok(pylock) = render(&Lock { packages: vec![demo] }, &header(&target), &target, &PublishersByPin::new()) else { return Ok(()) };
            let document: toml::Table = toml::from_str(&pylock.text).unwrap();
            let packages = document["packages"].as_array().unwrap();
            prop_assert_eq!(packages.len(), 1);
            if let Some(wheels) = packages[0].get("wheels") {
                let redacted = redact_text(&url);
                prop_assert_eq!(wheels[0]["url"].as_str(), Some(redacted.as_str()));
                prop_assert_eq!(wheels[0]["hashes"]["sha256"].as_str(), Some(SHA256));
            }
        }
    }
}
