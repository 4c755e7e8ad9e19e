//! Core metadata (`METADATA` / `PKG-INFO`) of a candidate distribution, and how to get it:
//! PEP 658/714 metadata file → range requests into the wheel → whole wheel → sdist `PKG-INFO`.

pub mod pep658;
pub mod sdist;
pub mod wheel_range;

use std::io::{self, Read};
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{ExtraName, PackageName, Requirement};
use reqwest::Url;

use crate::dist::{CoreMetadata, DistFile, DistFilename};
use crate::index::IndexClient;
use crate::index::http::{HttpClient, HttpError, redact};

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

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error(transparent)]
    Http(#[from] crate::index::http::HttpError),
    /// Metadata bytes that do not parse.
    #[error("{filename}: invalid metadata: {message}")]
    Invalid { filename: String, message: String },
    /// The file's metadata names another project or version than the index listed.
    #[error("{filename}: metadata says {found}, expected {expected}")]
    Mismatch { filename: String, expected: String, found: String },
    /// PEP 658 metadata whose hash does not match the advertised one.
    #[error("{url}: metadata file hash mismatch")]
    HashMismatch { url: String },
    /// Only an sdist whose dependencies are dynamic (or metadata < 2.2): hashlock builds nothing.
    #[error(
        "{name} {version}: no wheel, and its sdist does not declare static dependencies (Metadata-Version >= 2.2 without Dynamic: Requires-Dist); hashlock does not run build backends"
    )]
    NeedsBuild { name: PackageName, version: Version },
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
        let text = String::from_utf8_lossy(bytes);
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
                    Requirement::from_str(value).map_err(|err| {
                        invalid(line, format!("Requires-Dist `{value}`: {}", one_line(&err.message)))
                    })?,
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
/// the cache, and checks that its Name and Version match `filename`.
pub fn fetch(client: &IndexClient, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    if let Some(bytes) = client.cache().and_then(|cache| cache.read_metadata(file)) {
        // An entry that no longer parses (disk trouble, an older format) is fetched again.
        if let Ok(metadata) = Metadata::parse(&bytes, &file.filename) {
            return check(metadata, &file.filename, filename);
        }
    }
    let bytes = fetch_uncached(client, file, filename)?;
    let metadata = check(Metadata::parse(&bytes, &file.filename)?, &file.filename, filename)?;
    if let Some(cache) = client.cache() {
        cache.write_metadata(file, &bytes);
    }
    Ok(metadata)
}

/// The raw metadata from the index: PEP 658 file, else the wheel (ranges, then whole), else
/// the sdist's `PKG-INFO`.
fn fetch_uncached(client: &IndexClient, file: &DistFile, filename: &DistFilename) -> Result<Vec<u8>, MetadataError> {
    if let CoreMetadata::Present(hashes) = &file.core_metadata
        && let Some(bytes) = pep658::fetch(client.http(), file, hashes)?
    {
        return Ok(bytes);
    }
    match filename {
        DistFilename::Wheel(wheel) => wheel_range::fetch(client, file, wheel),
        DistFilename::Sdist(sdist) => sdist::fetch(client.http(), file, sdist),
    }
}

/// Metadata is only believed when it names the project and version the index listed the file
/// under; an sdist's must also declare its dependencies statically.
fn check(metadata: Metadata, file: &str, filename: &DistFilename) -> Result<Metadata, MetadataError> {
    if metadata.name != *filename.name() || metadata.version != *filename.version() {
        return Err(MetadataError::Mismatch {
            filename: file.to_string(),
            expected: format!("{} {}", filename.name(), filename.version()),
            found: format!("{} {}", metadata.name, metadata.version),
        });
    }
    if !filename.is_wheel() && !sdist::is_static(&metadata) {
        return Err(MetadataError::NeedsBuild { name: metadata.name, version: metadata.version });
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

/// A whole distribution file.
fn download(http: &HttpClient, url: &Url) -> Result<Vec<u8>, MetadataError> {
    let response = http.get(url, &[])?;
    match response.status {
        200 => Ok(response.body),
        status => Err(HttpError::Status { url: redact(url), status }.into()),
    }
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

/// The first line of an error message: parser errors draw a caret diagram on the next lines,
/// but hashlock's messages are one line each.
fn one_line(err: &impl std::fmt::Display) -> String {
    let message = err.to_string();
    let first = message.lines().next().unwrap_or_default();
    first.trim_end_matches(':').trim().to_string()
}
