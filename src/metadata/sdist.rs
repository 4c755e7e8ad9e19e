//! `PKG-INFO` from an sdist (tar.gz, tar or zip), usable when Metadata-Version >= 2.2 and
//! Requires-Dist is not Dynamic (PEP 643): then its dependencies are those any build would
//! produce, and hashlock need not run a build backend.

use std::io::{Cursor, Read};

use pep508_rs::pep440_rs::Version;

use crate::dist::{DistFile, SdistExtension, SdistFilename};
use crate::index::http::HttpClient;
use crate::metadata::{MAX_METADATA_SIZE, Metadata, MetadataError, download, read_capped};

/// The raw `PKG-INFO` of a remote sdist. Whether it is usable is [`is_static`]'s call.
pub fn fetch(http: &HttpClient, file: &DistFile, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    // Refuse unreadable formats before downloading anything.
    if matches!(sdist.extension, SdistExtension::TarBz2 | SdistExtension::TarXz) {
        return Err(unreadable(&file.filename));
    }
    let body = download(http, &file.url)?;
    pkg_info(&body, sdist.extension, &file.filename)
}

/// `<top>/PKG-INFO` from the bytes of an sdist. `filename` is for messages.
pub fn pkg_info(bytes: &[u8], extension: SdistExtension, filename: &str) -> Result<Vec<u8>, MetadataError> {
    let found = match extension {
        SdistExtension::TarGz => from_tar(flate2::read::GzDecoder::new(bytes)),
        SdistExtension::Tar => from_tar(bytes),
        SdistExtension::Zip => from_zip(bytes),
        SdistExtension::TarBz2 | SdistExtension::TarXz => return Err(unreadable(filename)),
    };
    let bad = |message: String| MetadataError::Archive { filename: filename.to_string(), message };
    found.map_err(bad)?.ok_or_else(|| bad("no <top>/PKG-INFO in the sdist".into()))
}

/// Whether sdist metadata declares its dependencies statically (PEP 643).
pub fn is_static(metadata: &Metadata) -> bool {
    metadata.metadata_version.trim().parse::<Version>().is_ok_and(|version| version >= Version::new([2, 2]))
        && !metadata.dynamic.iter().any(|field| field == "requires-dist")
}

/// hashlock has no bzip2 or xz decoder.
fn unreadable(filename: &str) -> MetadataError {
    MetadataError::Archive {
        filename: filename.to_string(),
        message: "no wheel, and hashlock reads only .tar.gz, .tar and .zip sdists".into(),
    }
}

/// `PKG-INFO` exactly one directory down (`<name>-<version>/PKG-INFO`); deeper ones belong
/// to `*.egg-info` directories and may be stale.
fn is_pkg_info(path: &str) -> bool {
    let mut parts = path.split('/').filter(|part| !part.is_empty() && *part != ".");
    matches!((parts.next(), parts.next(), parts.next()), (Some(_), Some("PKG-INFO"), None))
}

fn from_tar(reader: impl Read) -> Result<Option<Vec<u8>>, String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|err| format!("not a tar archive: {err}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|err| format!("corrupt tar archive: {err}"))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type().is_file() && is_pkg_info(&path) {
            return read_capped(&mut entry, MAX_METADATA_SIZE).map(Some).map_err(|err| format!("{path}: {err}"));
        }
    }
    Ok(None)
}

fn from_zip(bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|err| format!("not a zip file: {err}"))?;
    let Some(name) = archive.file_names().find(|name| is_pkg_info(name)).map(str::to_string) else {
        return Ok(None);
    };
    let member = archive.by_name(&name).map_err(|err| format!("{name}: {err}"))?;
    read_capped(member, MAX_METADATA_SIZE).map(Some).map_err(|err| format!("{name}: {err}"))
}
