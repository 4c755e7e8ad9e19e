//! Core metadata (`METADATA` / `PKG-INFO`) of a candidate distribution, and how to get it:
//! PEP 658/714 metadata file → range requests into the wheel → whole wheel → the sdist's static
//! `PKG-INFO` or `pyproject.toml` → a PEP 517 build of the sdist ([`build`]).

pub mod build;
pub mod pep658;
pub mod sdist;
pub mod wheel_install;
pub mod wheel_range;

use std::fs::File;
use std::io::{self, Read};
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName, Requirement};
use reqwest::Url;

use crate::dist::{CoreMetadata, DistFile, DistFilename};
use crate::index::IndexClient;
use crate::index::cache::MetadataKey;
use crate::index::http::{HttpClient, HttpError, spool};
use crate::requirement::one_line;

/// The parts of core metadata that resolution needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub name: PackageName,
    pub version: Version,
    pub requires_dist: Vec<Requirement>,
    pub requires_python: Option<VersionSpecifiers>,
    pub provides_extra: Vec<ExtraName>,
    /// `Metadata-Version`, e.g. `2.1`.
    pub metadata_version: String,
    /// `Dynamic` fields (PEP 643), lowercased.
    pub dynamic: Vec<String>,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum MetadataError {
    #[error(transparent)]
    Http(#[from] crate::index::http::HttpError),
    /// Metadata bytes that do not parse.
    #[error("{filename}: invalid metadata: {message}")]
    Invalid { filename: String, message: String },
    /// The file's metadata names another project or version than the index listed.
    #[error("{filename}: metadata says {found}, expected {expected}")]
    Mismatch { filename: String, expected: String, found: String },
    /// An sdist whose metadata names its project but another version: a post-release
    /// re-upload (`pkg-2.2.0.post0.tar.gz`) keeps the PKG-INFO of the release it repeats.
    #[error("{filename}: metadata says {found}, expected {expected}")]
    OtherVersion { filename: String, expected: String, found: String },
    /// PEP 658 metadata whose hash does not match the advertised one.
    #[error("{url}: metadata file hash mismatch")]
    HashMismatch { url: String },
    /// Only an sdist, and it does not declare its dependencies statically: this version's
    /// dependencies can only be known by building it.
    #[error(
        "{name} {version}: no wheel, and its sdist does not declare static dependencies (neither a PKG-INFO of Metadata-Version 2.2 or later without Dynamic: Requires-Dist, nor a pyproject.toml [project] table without dynamic dependencies); only a build can tell them"
    )]
    NeedsBuild { name: PackageName, version: Version },
    /// A build was needed and `--no-build` refused it: excluded on purpose.
    #[error("{name} {version}: sdist only, and --no-build forbids building it")]
    NoBuild { name: PackageName, version: Version },
    /// A PEP 517 build of the sdist's metadata failed (its output's tail went to stderr).
    #[error("{name} {version}: building its metadata from the sdist failed: {message}")]
    Build { name: PackageName, version: Version, message: String },
    #[error("{filename}: {message}")]
    Archive { filename: String, message: String },
}

impl Metadata {
    /// Parses RFC 822-style core metadata. `filename` is for messages only.
    ///
    /// Headers run to the first empty line (the body, usually the description, is ignored);
    /// lines starting with whitespace continue the previous header; keys are case-insensitive;
    /// bytes that are not UTF-8 are decoded lossily. Like Python's email parser, a line that is
    /// neither a header nor a continuation ends the headers.
    pub fn parse(bytes: &[u8], filename: &str) -> Result<Self, MetadataError> {
        // Only the headers are read: the body (the description) is most of the bytes.
        let text = String::from_utf8_lossy(header_block(bytes));
        let invalid = |line: usize, message: String| MetadataError::Invalid {
            filename: filename.to_string(),
            message: format!("line {line}: {message}"),
        };

        let mut name = None;
        let mut version = None;
        let mut requires_dist = Vec::new();
        let mut requires_python = None;
        let mut provides_extra = Vec::new();
        let mut metadata_version = String::new();
        let mut dynamic = Vec::new();

        for (line, key, value) in headers(&text) {
            let value = value.trim();
            match key.as_str() {
                "name" if name.is_none() => {
                    name = Some(
                        PackageName::from_str(value)
                            .map_err(|err| invalid(line, format!("Name `{value}`: {}", one_line(&err))))?,
                    );
                }
                "version" if version.is_none() => {
                    version = Some(
                        Version::from_str(value)
                            .map_err(|err| invalid(line, format!("Version `{value}`: {}", one_line(&err))))?,
                    );
                }
                "requires-dist" => requires_dist.push(
                    crate::requirement::parse(value)
                        .map_err(|message| invalid(line, format!("Requires-Dist `{value}`: {message}")))?,
                ),
                "requires-python" => {
                    requires_python = Some(
                        VersionSpecifiers::from_str(value)
                            .map_err(|err| invalid(line, format!("Requires-Python `{value}`: {}", one_line(&err))))?,
                    );
                }
                // Extras only name optional dependency groups; an unparsable one (seen in old
                // setuptools output) cannot be requested anyway, so it is skipped, not fatal.
                "provides-extra" => provides_extra.extend(ExtraName::from_str(value).ok()),
                "metadata-version" => metadata_version = value.to_string(),
                "dynamic" => dynamic.push(value.to_ascii_lowercase()),
                _ => {}
            }
        }

        let missing = |field: &str| MetadataError::Invalid {
            filename: filename.to_string(),
            message: format!("no {field} field"),
        };
        Ok(Self {
            name: name.ok_or_else(|| missing("Name"))?,
            version: version.ok_or_else(|| missing("Version"))?,
            requires_dist,
            requires_python,
            provides_extra,
            metadata_version,
            dynamic,
        })
    }
}

/// Gets the metadata of one distribution file through the fallback chain, using (and filling)
/// the cache, and checks that its Name and Version match `filename`; an sdist without static
/// metadata is built when the client has a builder.
pub fn fetch(client: &IndexClient, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    match (fetch_static(client, file, filename), client.builder(), filename) {
        (Err(MetadataError::NeedsBuild { .. }), Some(builder), DistFilename::Sdist(sdist)) => {
            let bytes = builder.metadata(client.http(), file, sdist)?;
            check_names(Metadata::parse(&bytes, &file.filename)?, &file.filename, filename)
        }
        // Offline, an sdist built on an earlier run: its built metadata is cached, its bytes
        // (streamed, never kept) are not.
        (Err(error @ MetadataError::Http(HttpError::Offline { .. })), Some(builder), DistFilename::Sdist(_)) => {
            let bytes = builder.built_metadata(file).ok_or(error)?;
            check_names(Metadata::parse(&bytes, &file.filename)?, &file.filename, filename)
        }
        (result, _, _) => result,
    }
}

/// [`fetch`] without building: what the index and the files themselves declare.
///
/// The cache is keyed by what vouches for an entry (see [`MetadataKey`]): a PEP 658 file by
/// its own verified hash, anything read from the distribution by its URL and claimed sha256,
/// so that no index can plant metadata that another index's files would be read as.
fn fetch_static(client: &IndexClient, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    let verified = MetadataKey::verified(file);
    let read_from = MetadataKey::read_from(file);
    if let Some(cache) = client.cache() {
        for key in verified.iter().chain([&read_from]) {
            // An entry that no longer parses (disk trouble, an older format) is fetched again.
            if let Some(bytes) = cache.read_metadata(key)
                && let Ok(metadata) = Metadata::parse(&bytes, &file.filename)
            {
                client.note_metadata_hit();
                return check(metadata, &file.filename, filename);
            }
        }
    }
    let (bytes, from_pep658) = fetch_uncached(client, file, filename)?;
    let metadata = check(Metadata::parse(&bytes, &file.filename)?, &file.filename, filename)?;
    if let Some(cache) = client.cache() {
        let key = match verified {
            Some(key) if from_pep658 => key,
            _ => read_from,
        };
        cache.write_metadata(&key, &bytes);
    }
    Ok(metadata)
}

/// The raw metadata from the index: PEP 658 file (then `true`: its bytes matched every hash
/// advertised for it), else the wheel (ranges, then whole), else the sdist's static metadata.
fn fetch_uncached(
    client: &IndexClient,
    file: &DistFile,
    filename: &DistFilename,
) -> Result<(Vec<u8>, bool), MetadataError> {
    let url = Url::parse(&file.url).map_err(|error| MetadataError::Invalid {
        filename: file.filename.clone(),
        message: format!("the index gave an invalid URL: {error}"),
    })?;
    if let CoreMetadata::Present(hashes) = &file.core_metadata
        && let Some(bytes) = pep658::fetch(client.http(), &url, hashes)?
    {
        return Ok((bytes, true));
    }
    let bytes = match filename {
        DistFilename::Wheel(wheel) => wheel_range::fetch(client, &url, &file.filename, wheel),
        DistFilename::Sdist(sdist) => sdist::fetch(client, &url, &file.filename, sdist),
    }?;
    Ok((bytes, false))
}

/// Metadata is only believed when it names the project and version the index listed the file
/// under; an sdist's must also declare its dependencies statically.
fn check(metadata: Metadata, file: &str, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    let metadata = check_names(metadata, file, filename)?;
    if !filename.is_wheel() && !sdist::is_static(&metadata) {
        return Err(MetadataError::NeedsBuild { name: metadata.name, version: metadata.version });
    }
    Ok(metadata)
}

/// Metadata names the project and version the index listed the file under.
fn check_names(metadata: Metadata, file: &str, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    if metadata.name != *filename.name() || metadata.version != *filename.version() {
        let other_version = metadata.name == *filename.name() && !filename.is_wheel();
        let (filename, expected, found) = (
            file.to_string(),
            format!("{} {}", filename.name(), filename.version()),
            format!("{} {}", metadata.name, metadata.version),
        );
        return Err(match other_version {
            true => MetadataError::OtherVersion { filename, expected, found },
            false => MetadataError::Mismatch { filename, expected, found },
        });
    }
    Ok(metadata)
}

/// Largest metadata file (decompressed) hashlock reads: real ones are kilobytes, so anything
/// near this is a zip bomb or not metadata.
pub const MAX_METADATA_SIZE: u64 = 16 * 1024 * 1024;

/// Reads `reader` to the end, failing once it yields more than `cap` bytes.
fn read_capped(reader: impl Read, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

/// Largest distribution file hashlock downloads whole (to a temp file): real wheels reach a
/// few GB.
pub const MAX_DOWNLOAD_SIZE: u64 = 16 * 1024 * 1024 * 1024;

/// A whole distribution file, in a temp file.
fn download(http: &HttpClient, url: &Url) -> Result<File, MetadataError> {
    Ok(http.download(url, MAX_DOWNLOAD_SIZE, spool)?)
}

/// `bytes` up to the first empty line, where [`headers`] stops (a cut at a newline splits no
/// UTF-8 sequence).
fn header_block(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    while let Some(newline) = bytes[start..].iter().position(|&b| b == b'\n') {
        if matches!(&bytes[start..start + newline], b"" | b"\r") {
            return &bytes[..start];
        }
        start += newline + 1;
    }
    bytes
}

/// The header fields of an RFC 822-style text, unfolded: (1-based line of the field, lowercased
/// key, raw value).
fn headers(text: &str) -> Vec<(usize, String, String)> {
    let mut fields: Vec<(usize, String, String)> = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, _, value)) = fields.last_mut() {
                value.push_str(line);
                continue;
            }
            break;
        }
        let Some((key, value)) = line.split_once(':') else { break };
        fields.push((index + 1, key.trim().to_ascii_lowercase(), value.to_string()));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::{SdistExtension, SdistFilename, WheelFilename};

    const FULL: &str = "Metadata-Version: 2.3\r
name: Demo_Pkg\r
VERSION: 1.0\r
Summary: a summary that is\r
  folded over two lines\r
Requires-Python:  >=3.8 \r
Requires-Dist: idna (>=2.5,<4)\r
Requires-Dist: pysocks!=1.5.7,>=1.5.6; extra == \"socks\"\r
Requires-Dist: colorama;\r
\tsys_platform == \"win32\"\r
Provides-Extra: socks\r
Provides-Extra: Use_Chardet\r
Dynamic: Requires-Dist\r
\r
Requires-Dist: not-a-header-this-is-the-body\r
";

    fn parse(text: &str) -> Result<Metadata, MetadataError> {
        Metadata::parse(text.as_bytes(), "demo_pkg-1.0-py3-none-any.whl")
    }

    fn invalid_message(text: &str) -> String {
        match parse(text) {
            Err(err @ MetadataError::Invalid { .. }) => err.to_string(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn parses_fields_folded_lines_and_stops_at_the_body() {
        let metadata = parse(FULL).unwrap();
        assert_eq!(metadata.name, PackageName::from_str("demo-pkg").unwrap());
        assert_eq!(metadata.version, Version::from_str("1.0").unwrap());
        assert_eq!(metadata.metadata_version, "2.3");
        assert_eq!(metadata.requires_python, Some(VersionSpecifiers::from_str(">=3.8").unwrap()));
        let requirements: Vec<String> = metadata.requires_dist.iter().map(ToString::to_string).collect();
        assert_eq!(
            requirements,
            ["idna>=2.5,<4", "pysocks>=1.5.6,!=1.5.7 ; extra == 'socks'", "colorama ; sys_platform == 'win32'",]
        );
        let extras: Vec<&str> = metadata.provides_extra.iter().map(AsRef::as_ref).collect();
        assert_eq!(extras, ["socks", "use-chardet"]);
        assert_eq!(metadata.dynamic, ["requires-dist"]);
    }

    #[test]
    fn requirement_extras_and_markers_are_kept() {
        let metadata = parse("Name: a\nVersion: 1\nRequires-Dist: b[x,y]>=2; python_version < \"3.11\"\n").unwrap();
        let requirement = &metadata.requires_dist[0];
        let extras: Vec<&str> = requirement.extras.iter().map(AsRef::as_ref).collect();
        assert_eq!(extras, ["x", "y"]);
        assert_eq!(requirement.marker.try_to_string().as_deref(), Some("python_full_version < '3.11'"));
    }

    #[test]
    fn missing_name_or_version_is_invalid() {
        assert!(invalid_message("Metadata-Version: 2.1\nVersion: 1.0\n").contains("no Name field"));
        assert!(invalid_message("Metadata-Version: 2.1\nName: demo\n").contains("no Version field"));
        // A Name only in the body does not count.
        assert!(invalid_message("Version: 1.0\n\nName: demo\n").contains("no Name field"));
    }

    #[test]
    fn invalid_requirement_names_file_and_line_in_one_line() {
        let message = invalid_message("Name: demo\nVersion: 1.0\nRequires-Dist: ok\nRequires-Dist: bad >>= 1\n");
        assert!(!message.contains('\n'), "{message}");
        assert!(message.starts_with("demo_pkg-1.0-py3-none-any.whl: invalid metadata: line 4:"), "{message}");
        assert!(message.contains("bad >>= 1"), "{message}");
    }

    #[test]
    fn a_name_pep508_rs_would_panic_on_is_invalid_metadata() {
        let message = invalid_message("Name: demo\nVersion: 1.0\nRequires-Dist: dep_ ; extra == \"x\"\n");
        assert!(message.contains("line 3: Requires-Dist `dep_ ; extra == \"x\"`"), "{message}");
    }

    #[test]
    fn invalid_requires_python_is_invalid_in_one_line() {
        let message = invalid_message("Name: demo\nVersion: 1.0\nRequires-Python: >=three\n");
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("line 3: Requires-Python `>=three`"), "{message}");
    }

    #[test]
    fn non_utf8_bytes_are_decoded_lossily() {
        let metadata = Metadata::parse(b"Name: demo\nVersion: 1.0\nAuthor: J\xe9r\xf4me\n", "x").unwrap();
        assert_eq!(metadata.name.as_ref(), "demo");
    }

    fn wheel(name: &str, version: &str) -> DistFilename {
        DistFilename::Wheel(WheelFilename {
            name: PackageName::from_str(name).unwrap(),
            version: Version::from_str(version).unwrap(),
            build: None,
            python_tags: vec!["py3".into()],
            abi_tags: vec!["none".into()],
            platform_tags: vec!["any".into()],
        })
    }

    fn sdist(name: &str, version: &str) -> DistFilename {
        DistFilename::Sdist(SdistFilename {
            name: PackageName::from_str(name).unwrap(),
            version: Version::from_str(version).unwrap(),
            extension: SdistExtension::TarGz,
        })
    }

    #[test]
    fn name_is_compared_normalised_and_version_by_pep440() {
        let metadata = parse("Metadata-Version: 2.1\nName: Demo.Pkg\nVersion: 1.0\n").unwrap();
        assert!(check(metadata, "f.whl", &wheel("demo-pkg", "1.0.0")).is_ok());
    }

    #[test]
    fn other_name_or_version_is_a_mismatch() {
        let metadata = parse("Metadata-Version: 2.1\nName: other\nVersion: 1.0\n").unwrap();
        let err = check(metadata, "demo-1.0.tar.gz", &wheel("demo", "1.0")).unwrap_err();
        assert_eq!(err.to_string(), "demo-1.0.tar.gz: metadata says other 1.0, expected demo 1.0");
        let metadata = parse("Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n").unwrap();
        assert!(matches!(check(metadata, "f", &wheel("demo", "1.0")), Err(MetadataError::Mismatch { .. })));
    }

    #[test]
    fn sdist_metadata_must_be_static() {
        let fixed = parse("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: idna\n").unwrap();
        assert!(check(fixed.clone(), "f", &sdist("demo", "1.0")).is_ok());
        let dynamic = parse("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: requires-dist\n").unwrap();
        assert!(matches!(check(dynamic.clone(), "f", &sdist("demo", "1.0")), Err(MetadataError::NeedsBuild { .. })));
        // The same metadata from a wheel is authoritative.
        assert!(check(dynamic, "f", &wheel("demo", "1.0")).is_ok());
    }

    #[test]
    fn read_capped_refuses_more_than_the_cap() {
        assert_eq!(read_capped(&b"12345"[..], 5).unwrap(), b"12345");
        assert!(read_capped(&b"123456"[..], 5).unwrap_err().to_string().contains("larger than 5 bytes"));
    }

    proptest::proptest! {
        /// Index metadata is untrusted: any bytes give metadata or an error, never a panic,
        /// and an error stays on one line.
        #[test]
        fn parse_never_panics(
            header in proptest::sample::select(vec!["Name", "Version", "Requires-Dist", "Requires-Python", "Dynamic", "x"]),
            value in proptest::prop_oneof!["\\PC{0,30}", "[a-z]{1,5}[-_.]? ?[\\[\\];<>=!~ a-z0-9.,'\"]{0,20}"],
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let text = format!("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\n{header}: {value}\n");
            if let Err(error) = Metadata::parse(text.as_bytes(), "demo-1.0.tar.gz") {
                proptest::prop_assert!(!error.to_string().contains('\n'), "{error}");
            }
            let _ = Metadata::parse(&noise, "demo-1.0.tar.gz");
        }

        /// Reading only the header block reads the same headers as reading everything.
        #[test]
        fn the_header_block_holds_every_header(
            lines in proptest::collection::vec(proptest::prop_oneof!["[A-Za-z-]{1,8}: \\PC{0,12}", " \\PC{0,8}", "\r?", "\\PC{0,8}"], 0..12),
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..32),
        ) {
            let mut bytes = lines.join("\n").into_bytes();
            bytes.extend(noise);
            let all = headers(&String::from_utf8_lossy(&bytes));
            proptest::prop_assert_eq!(headers(&String::from_utf8_lossy(header_block(&bytes))), all);
        }
    }
}
