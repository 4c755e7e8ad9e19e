//! Core metadata of an sdist without building it, when the sdist declares it statically, read
//! as uv reads it: `<top>/PKG-INFO` when its Metadata-Version is 2.2 or later and none of
//! Requires-Dist, Requires-Python, Provides-Extra is `Dynamic` (PEP 643), else
//! `<top>/pyproject.toml`'s `[project]` table when none of `dependencies`,
//! `optional-dependencies`, `requires-python` is in its `dynamic` list (PEP 621; a dynamic
//! `version` is the one the sdist's filename fixes). Otherwise only a build can tell
//! ([`MetadataError::NeedsBuild`]).
//!
//! A tar sdist is read through gzip and tar as its body arrives, and the response dropped as
//! soon as a member has decided: those members sit near the start of most sdists, and an sdist
//! can be hundreds of megabytes. A zip sdist is read through range requests into its central
//! directory, as wheels are.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::str::FromStr;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerTree};
use reqwest::Url;
use serde::Deserialize;

use crate::dist::{SdistExtension, SdistFilename};
use crate::index::IndexClient;
use crate::index::http::{HttpClient, HttpError, RequestKind};
use crate::metadata::wheel_range::{self, RemoteZip, Stop};
use crate::metadata::{MAX_DOWNLOAD_SIZE, MAX_METADATA_SIZE, Metadata, MetadataError, read_capped};

const PKG_INFO: &str = "PKG-INFO";
const PYPROJECT: &str = "pyproject.toml";

/// The static core metadata of a remote sdist, as `METADATA` text: its `PKG-INFO`, or one
/// written from its `pyproject.toml`.
pub fn fetch(client: &IndexClient, url: &Url, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    match sdist.extension {
        SdistExtension::TarGz | SdistExtension::Tar => stream_tar(client.http(), url, filename, sdist),
        SdistExtension::Zip => wheel_range::fetch_zip(
            client,
            url,
            filename,
            |zip| from_remote_zip(zip, filename, sdist),
            |file| from_zip(file, filename, sdist),
        ),
        // Refused before downloading anything.
        SdistExtension::TarBz2 | SdistExtension::TarXz => Err(unreadable(filename)),
    }
}

/// Whether sdist metadata declares what resolution needs statically (PEP 643).
pub fn is_static(metadata: &Metadata) -> bool {
    metadata
        .metadata_version
        .trim()
        .parse::<Version>()
        .is_ok_and(|version| version >= Version::new([2, 2]) && version < Version::new([3]))
        && !metadata
            .dynamic
            .iter()
            .any(|field| matches!(field.as_str(), "requires-dist" | "requires-python" | "provides-extra"))
}

/// hashlock has no bzip2 or xz decoder.
pub(super) fn unreadable(filename: &str) -> MetadataError {
    MetadataError::Archive {
        filename: filename.to_string(),
        message: "no wheel, and hashlock reads only .tar.gz, .tgz, .tar and .zip sdists".into(),
    }
}

fn needs_build(sdist: &SdistFilename) -> MetadataError {
    MetadataError::NeedsBuild { name: sdist.name.clone(), version: sdist.version.clone() }
}

/// The file name of a member exactly one directory down (`<name>-<version>/PKG-INFO`); deeper
/// ones belong to `*.egg-info` directories or vendored projects and may be stale or foreign.
fn top_level(path: &str) -> Option<&str> {
    let mut parts = path.split('/').filter(|part| !part.is_empty() && *part != ".");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(name), None) => Some(name),
        _ => None,
    }
}

/// The deciding members read so far.
#[derive(Default)]
struct Members {
    pkg_info: Option<Vec<u8>>,
    pyproject: Option<Vec<u8>>,
}

impl Members {
    /// Where a top-level member of this name goes, if it is one that decides.
    fn slot(&mut self, name: &str) -> Option<&mut Option<Vec<u8>>> {
        match name {
            PKG_INFO => Some(&mut self.pkg_info),
            PYPROJECT => Some(&mut self.pyproject),
            _ => None,
        }
    }

    /// The metadata once a member read so far is static; `NeedsBuild` once both were read and
    /// neither is; `None` while a member still to come may decide. A `PKG-INFO` that does not
    /// parse decides nothing: a build writes its own.
    fn decided(&self, filename: &str, sdist: &SdistFilename) -> Option<Result<Vec<u8>, MetadataError>> {
        if let Some(bytes) = &self.pkg_info
            && Metadata::parse(bytes, filename).is_ok_and(|metadata| is_static(&metadata))
        {
            return Some(Ok(bytes.clone()));
        }
        if let Some(metadata) = self.pyproject.as_deref().and_then(|bytes| from_pyproject(bytes, sdist)) {
            return Some(Ok(metadata));
        }
        (self.pkg_info.is_some() && self.pyproject.is_some()).then(|| Err(needs_build(sdist)))
    }

    /// What the members say once the archive has no more.
    fn finish(&self, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
        self.decided(filename, sdist).unwrap_or_else(|| Err(needs_build(sdist)))
    }
}

/// Streams a `.tar.gz` or `.tar` sdist until a member decides, then drops the response.
fn stream_tar(http: &HttpClient, url: &Url, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    let response = http.get_with(
        RequestKind::Sdist,
        url,
        // The archive's own gzip layer is read here; no server may add or strip another.
        &[("Accept-Encoding", "identity")],
        |_| MAX_DOWNLOAD_SIZE,
        |head, body| {
            if head.status != 200 {
                return Ok(None);
            }
            let mut body = Body { inner: body, failed: false };
            let found = match sdist.extension {
                SdistExtension::TarGz => scan_tar(flate2::read::GzDecoder::new(&mut body), filename, sdist),
                _ => scan_tar(&mut body, filename, sdist),
            };
            match found {
                // The connection broke, not the archive: worth another attempt.
                Err(err) if body.failed => Err(io::Error::other(err.to_string())),
                found => Ok(Some(found)),
            }
        },
    )?;
    response.body.ok_or_else(|| MetadataError::from(HttpError::unexpected_status(url, response.status)))?
}

/// A response body that remembers whether reading it failed.
struct Body<'a> {
    inner: &'a mut dyn Read,
    failed: bool,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed = true)
    }
}

/// Reads tar members in order until the deciding ones have decided.
fn scan_tar(reader: impl Read, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    let bad = |message: String| MetadataError::Archive { filename: filename.to_string(), message };
    let mut archive = tar::Archive::new(reader);
    let mut members = Members::default();
    for entry in archive.entries().map_err(|err| bad(format!("not a tar archive: {err}")))? {
        let mut entry = entry.map_err(|err| bad(format!("corrupt tar archive: {err}")))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Some(slot) = top_level(&path).and_then(|name| members.slot(name)) else { continue };
        *slot = Some(read_capped(&mut entry, MAX_METADATA_SIZE).map_err(|err| bad(format!("{path}: {err}")))?);
        if let Some(decided) = members.decided(filename, sdist) {
            return decided;
        }
    }
    members.finish(filename, sdist)
}

/// Reads `<top>/PKG-INFO`, then `<top>/pyproject.toml` only if that did not decide, from a zip
/// whose members `read` gives by their index in `names`.
fn from_zip_members<E: From<MetadataError>>(
    names: &[String],
    mut read: impl FnMut(usize) -> Result<Vec<u8>, E>,
    filename: &str,
    sdist: &SdistFilename,
) -> Result<Vec<u8>, E> {
    let mut members = Members::default();
    for wanted in [PKG_INFO, PYPROJECT] {
        let Some(index) = names.iter().position(|name| top_level(name) == Some(wanted)) else { continue };
        let bytes = read(index)?;
        *members.slot(wanted).expect("a deciding member") = Some(bytes);
        if let Some(decided) = members.decided(filename, sdist) {
            return Ok(decided?);
        }
    }
    Ok(members.finish(filename, sdist)?)
}

fn from_remote_zip(
    zip: &mut RemoteZip<'_, File>,
    filename: &str,
    sdist: &SdistFilename,
) -> Result<Vec<u8>, Stop<File>> {
    let names: Vec<String> = zip.names().into_iter().map(str::to_string).collect();
    from_zip_members(&names, |index| zip.read(index), filename, sdist)
}

/// The same from a whole zip sdist (a temp file, or bytes in a `Cursor`).
fn from_zip(sdist_file: impl Read + Seek, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    let bad = |message: String| MetadataError::Archive { filename: filename.to_string(), message };
    let mut archive = zip::ZipArchive::new(sdist_file).map_err(|err| bad(format!("not a zip file: {err}")))?;
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    let read = |index: usize| {
        let member = archive.by_index(index).map_err(|err| bad(format!("{}: {err}", names[index])))?;
        read_capped(member, MAX_METADATA_SIZE).map_err(|err| bad(format!("{}: {err}", names[index])))
    };
    from_zip_members(&names, read, filename, sdist)
}

/// The parts of `pyproject.toml` that decide (PEP 621).
#[derive(Deserialize)]
struct PyProject {
    project: Option<Project>,
    #[serde(default)]
    tool: Tool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Project {
    name: String,
    version: Option<String>,
    requires_python: Option<String>,
    dependencies: Option<Vec<String>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    dynamic: Vec<String>,
}

#[derive(Default, Deserialize)]
struct Tool {
    poetry: Option<toml::Value>,
}

/// `METADATA` text written from a static `[project]` table; `None` when the file does not
/// parse, holds a requirement that does not, or leaves what resolution needs to the build: the
/// build then has the last word.
fn from_pyproject(bytes: &[u8], sdist: &SdistFilename) -> Option<Vec<u8>> {
    let pyproject: PyProject = toml::from_str(std::str::from_utf8(bytes).ok()?).ok()?;
    let project = pyproject.project?;
    let deciding = ["dependencies", "optional-dependencies", "requires-python"];
    if project.dynamic.iter().any(|field| deciding.contains(&field.as_str())) {
        return None;
    }
    // Poetry lists dependencies in its own table: there, a `[project]` without `dependencies`
    // does not mean there are none.
    if project.dependencies.is_none() && pyproject.tool.poetry.is_some() {
        return None;
    }
    let version = project.version.unwrap_or_else(|| sdist.version.to_string());
    let mut lines =
        vec!["Metadata-Version: 2.2".to_string(), format!("Name: {}", project.name), format!("Version: {version}")];
    lines.extend(project.requires_python.map(|spec| format!("Requires-Python: {spec}")));
    for requirement in project.dependencies.unwrap_or_default() {
        lines.push(format!("Requires-Dist: {}", crate::requirement::parse(&requirement).ok()?));
    }
    for (extra, requirements) in &project.optional_dependencies {
        lines.push(format!("Provides-Extra: {extra}"));
        for requirement in requirements {
            lines.push(format!("Requires-Dist: {}", with_extra(requirement, extra)?));
        }
    }
    // A line break inside a value would start a header of its own.
    if lines.iter().any(|line| line.contains(['\r', '\n'])) {
        return None;
    }
    Some(format!("{}\n", lines.join("\n")).into_bytes())
}

/// `requirement` needed only with `extra`, as a `Requires-Dist` value.
fn with_extra(requirement: &str, extra: &str) -> Option<String> {
    let mut parsed = crate::requirement::parse(requirement).ok()?;
    let extra = ExtraName::from_str(extra).ok()?;
    let marker = parsed.marker.try_to_string();
    parsed.marker = MarkerTree::TRUE;
    Some(match marker {
        Some(marker) => format!("{parsed} ; ({marker}) and extra == '{extra}'"),
        None => format!("{parsed} ; extra == '{extra}'"),
    })
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const STATIC: &[u8] = b"Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: idna>=2\n";
    const STALE: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 0.9\n";
    const PYPROJECT_STATIC: &[u8] = br#"
[project]
name = "demo"
dynamic = ["version", "readme"]
requires-python = ">=3.9"
dependencies = ["idna>=2", "colorama; sys_platform == 'win32'"]
[project.optional-dependencies]
socks = ["PySocks>=1.5.6", "win-inet-pton; sys_platform == 'win32'"]
"#;

    fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in members {
            writer.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn demo() -> SdistFilename {
        SdistFilename {
            name: "demo".parse().unwrap(),
            version: "1.0".parse().unwrap(),
            extension: SdistExtension::TarGz,
        }
    }

    fn from_tar_gz(sdist: &[u8]) -> Result<Vec<u8>, MetadataError> {
        scan_tar(flate2::read::GzDecoder::new(sdist), "demo-1.0.tar.gz", &demo())
    }

    fn parse(bytes: &[u8]) -> Metadata {
        Metadata::parse(bytes, "demo-1.0.tar.gz").unwrap()
    }

    fn requirements(metadata: &Metadata) -> Vec<String> {
        metadata.requires_dist.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn top_level_pkg_info_wins_over_egg_info_copies() {
        let sdist = tar_gz(&[
            ("demo-1.0/src/demo.egg-info/PKG-INFO", STALE),
            ("demo-1.0/setup.py", b""),
            ("demo-1.0/PKG-INFO", STATIC),
        ]);
        assert_eq!(from_tar_gz(&sdist).unwrap(), STATIC);
        let sdist = zip(&[("demo-1.0/src/demo.egg-info/PKG-INFO", STALE), ("demo-1.0/PKG-INFO", STATIC)]);
        assert_eq!(from_zip(Cursor::new(&sdist), "demo-1.0.zip", &demo()).unwrap(), STATIC);
    }

    #[test]
    fn reading_stops_at_the_member_that_decides() {
        for first in [("demo-1.0/PKG-INFO", STATIC), ("demo-1.0/pyproject.toml", PYPROJECT_STATIC)] {
            let mut sdist = tar_gz(&[first]);
            // What follows is not even gzip: it is never read.
            sdist.truncate(sdist.len() - 8);
            sdist.extend_from_slice(&[0xff; 4096]);
            let found = from_tar_gz(&sdist).unwrap_or_else(|err| panic!("{}: {err}", first.0));
            assert_eq!(parse(&found).name.as_ref(), "demo");
        }
    }

    #[test]
    fn a_static_project_table_gives_dependencies_extras_and_the_filename_s_version() {
        let sdist = tar_gz(&[("demo-1.0/PKG-INFO", STALE), ("demo-1.0/pyproject.toml", PYPROJECT_STATIC)]);
        let metadata = parse(&from_tar_gz(&sdist).unwrap());
        assert!(is_static(&metadata));
        assert_eq!(metadata.version.to_string(), "1.0", "dynamic version: the filename's");
        assert_eq!(metadata.requires_python.as_ref().unwrap().to_string(), ">=3.9");
        assert_eq!(
            requirements(&metadata),
            [
                "idna>=2",
                "colorama ; sys_platform == 'win32'",
                "pysocks>=1.5.6 ; extra == 'socks'",
                "win-inet-pton ; sys_platform == 'win32' and extra == 'socks'",
            ]
        );
        let extras: Vec<&str> = metadata.provides_extra.iter().map(AsRef::as_ref).collect();
        assert_eq!(extras, ["socks"]);
    }

    #[test]
    fn a_project_table_without_dependencies_declares_none() {
        let pyproject = b"[project]\nname = \"demo\"\nversion = \"1.0\"\n";
        let metadata = parse(&from_pyproject(pyproject, &demo()).unwrap());
        assert!(metadata.requires_dist.is_empty() && metadata.requires_python.is_none());
    }

    #[test]
    fn what_only_a_build_can_tell_needs_a_build() {
        let undecided: [&[u8]; 7] = [
            b"[project]\nname = \"demo\"\ndynamic = [\"version\", \"dependencies\"]\n",
            b"[project]\nname = \"demo\"\ndynamic = [\"optional-dependencies\"]\n",
            b"[project]\nname = \"demo\"\ndynamic = [\"requires-python\"]\n",
            b"[project]\nname = \"demo\"\n[tool.poetry.dependencies]\nidna = \"*\"\n",
            b"[build-system]\nrequires = [\"setuptools\"]\n",
            b"[project]\nname = \"demo\"\ndependencies = [\"bad >>= 1\"]\n",
            b"not = toml = at all",
        ];
        for pyproject in undecided {
            assert_eq!(from_pyproject(pyproject, &demo()), None, "{}", String::from_utf8_lossy(pyproject));
            let sdist = tar_gz(&[("demo-1.0/PKG-INFO", STALE), ("demo-1.0/pyproject.toml", pyproject)]);
            assert!(matches!(from_tar_gz(&sdist), Err(MetadataError::NeedsBuild { .. })));
        }
        // Neither member, or only a PKG-INFO that promises nothing.
        for members in [&[("demo-1.0/setup.py", &b""[..]), ("PKG-INFO", STATIC)][..], &[("demo-1.0/PKG-INFO", STALE)]] {
            let err = from_tar_gz(&tar_gz(members)).unwrap_err();
            assert!(err.to_string().starts_with("demo 1.0: no wheel, and its sdist does not declare"), "{err}");
        }
    }

    #[test]
    fn a_line_break_in_a_value_cannot_add_a_header() {
        let pyproject =
            b"[project]\nname = \"demo\"\nversion = \"1.0\"\nrequires-python = \">=3\\nRequires-Dist: evil\"\n";
        assert_eq!(from_pyproject(pyproject, &demo()), None);
    }

    #[test]
    fn broken_archives_are_archive_errors() {
        let err = from_tar_gz(b"not gzip at all").unwrap_err();
        assert!(matches!(err, MetadataError::Archive { .. }), "{err}");
        let err = from_zip(Cursor::new(b"not zip at all"), "demo-1.0.zip", &demo()).unwrap_err();
        assert!(err.to_string().starts_with("demo-1.0.zip: not a zip file"), "{err}");
    }

    #[test]
    fn bz2_and_xz_sdists_are_refused_with_a_clear_message() {
        let http = HttpClient::new(crate::index::http::HttpOptions { offline: true, ..Default::default() }).unwrap();
        let client = IndexClient::new(http, Vec::new(), None);
        let url = Url::parse("https://index.example/files/demo-1.0.tar.xz").unwrap();
        for extension in [SdistExtension::TarBz2, SdistExtension::TarXz] {
            let err = fetch(&client, &url, "demo-1.0.tar.xz", &SdistFilename { extension, ..demo() }).unwrap_err();
            assert_eq!(
                err.to_string(),
                "demo-1.0.tar.xz: no wheel, and hashlock reads only .tar.gz, .tgz, .tar and .zip sdists"
            );
        }
    }

    #[test]
    fn oversized_members_are_refused() {
        let huge = vec![b'x'; (MAX_METADATA_SIZE + 1) as usize];
        for member in ["demo-1.0/PKG-INFO", "demo-1.0/pyproject.toml"] {
            let sdist = tar_gz(&[(member, &huge)]);
            assert!(from_tar_gz(&sdist).unwrap_err().to_string().contains("larger than"), "{member}");
        }
    }

    #[test]
    fn only_static_fields_from_metadata_2_2_are_usable() {
        assert!(is_static(&parse(STATIC)));
        // Other dynamic fields do not matter.
        assert!(is_static(&parse(b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nDynamic: Classifier\n")));
        for field in ["Requires-Dist", "Requires-Python", "Provides-Extra"] {
            let text = format!("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: {field}\n");
            assert!(!is_static(&parse(text.as_bytes())), "{field}");
        }
        assert!(!is_static(&parse(STALE)));
        assert!(!is_static(&parse(b"Name: demo\nVersion: 1.0\n")));
        assert!(!is_static(&parse(b"Metadata-Version: 3.0\nName: demo\nVersion: 1.0\n")));
        assert!(is_static(&parse(b"Metadata-Version: 2.10\nName: demo\nVersion: 1.0\n")));
    }

    proptest::proptest! {
        /// Any bytes as a tar.gz or zip sdist, and a real one with bytes flipped or cut: a
        /// result or an error, never a panic.
        #[test]
        fn archives_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4096,
        ) {
            let _ = from_tar_gz(&bytes);
            let _ = from_zip(Cursor::new(&bytes), "demo-1.0.zip", &demo());
            let members: [(&str, &[u8]); 2] = [("demo-1.0/PKG-INFO", STATIC), ("demo-1.0/pyproject.toml", PYPROJECT_STATIC)];
            for mut real in [tar_gz(&members), zip(&members)] {
                for (at, byte) in &flips {
                    let len = real.len();
                    real[at % len] ^= byte;
                }
                real.truncate(cut.max(1));
                let _ = from_tar_gz(&real);
                let _ = scan_tar(&real[..], "demo-1.0.tar", &demo());
                let _ = from_zip(Cursor::new(&real), "demo-1.0.zip", &demo());
            }
        }
    }
}
