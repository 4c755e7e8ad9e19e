//! `PKG-INFO` from an sdist (tar.gz, tar or zip), usable when Metadata-Version >= 2.2 and
//! Requires-Dist is not Dynamic (PEP 643): then its dependencies are those any build would
//! produce, and hashlock need not run a build backend.

use std::io::{Read, Seek};

use pep508_rs::pep440_rs::Version;

use crate::dist::{SdistExtension, SdistFilename};
use crate::index::http::HttpClient;
use crate::metadata::{MAX_METADATA_SIZE, Metadata, MetadataError, download, read_capped};
use reqwest::Url;

/// The raw `PKG-INFO` of a remote sdist. Whether it is usable is [`is_static`]'s call.
pub fn fetch(http: &HttpClient, url: &Url, filename: &str, sdist: &SdistFilename) -> Result<Vec<u8>, MetadataError> {
    // Refuse unreadable formats before downloading anything.
    if matches!(sdist.extension, SdistExtension::TarBz2 | SdistExtension::TarXz) {
        return Err(unreadable(filename));
    }
    pkg_info(download(http, url)?, sdist.extension, filename)
}

/// `<top>/PKG-INFO` from an sdist (a temp file, or bytes in a `Cursor`). `filename` is for
/// messages.
pub fn pkg_info(sdist: impl Read + Seek, extension: SdistExtension, filename: &str) -> Result<Vec<u8>, MetadataError> {
    let found = match extension {
        SdistExtension::TarGz => from_tar(flate2::read::GzDecoder::new(sdist)),
        SdistExtension::Tar => from_tar(sdist),
        SdistExtension::Zip => from_zip(sdist),
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
pub(super) fn unreadable(filename: &str) -> MetadataError {
    MetadataError::Archive {
        filename: filename.to_string(),
        message: "no wheel, and hashlock reads only .tar.gz, .tgz, .tar and .zip sdists".into(),
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

fn from_zip(sdist: impl Read + Seek) -> Result<Option<Vec<u8>>, String> {
    let mut archive = zip::ZipArchive::new(sdist).map_err(|err| format!("not a zip file: {err}"))?;
    let Some(name) = archive.file_names().find(|name| is_pkg_info(name)).map(str::to_string) else {
        return Ok(None);
    };
    let member = archive.by_name(&name).map_err(|err| format!("{name}: {err}"))?;
    read_capped(member, MAX_METADATA_SIZE).map(Some).map_err(|err| format!("{name}: {err}"))
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const STATIC: &[u8] = b"Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: idna>=2\n";
    const STALE: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 0.9\n";

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

    fn parse(bytes: &[u8]) -> Metadata {
        Metadata::parse(bytes, "demo-1.0.tar.gz").unwrap()
    }

    #[test]
    fn top_level_pkg_info_wins_over_egg_info_copies() {
        let sdist = tar_gz(&[
            ("demo-1.0/src/demo.egg-info/PKG-INFO", STALE),
            ("demo-1.0/setup.py", b""),
            ("demo-1.0/PKG-INFO", STATIC),
        ]);
        assert_eq!(pkg_info(Cursor::new(&sdist), SdistExtension::TarGz, "demo-1.0.tar.gz").unwrap(), STATIC);
        let sdist = zip(&[("demo-1.0/src/demo.egg-info/PKG-INFO", STALE), ("demo-1.0/PKG-INFO", STATIC)]);
        assert_eq!(pkg_info(Cursor::new(&sdist), SdistExtension::Zip, "demo-1.0.zip").unwrap(), STATIC);
    }

    #[test]
    fn missing_pkg_info_or_broken_archive_is_an_archive_error() {
        let sdist = tar_gz(&[("demo-1.0/setup.py", b""), ("PKG-INFO", STATIC)]);
        let err = pkg_info(Cursor::new(&sdist), SdistExtension::TarGz, "demo-1.0.tar.gz").unwrap_err();
        assert_eq!(err.to_string(), "demo-1.0.tar.gz: no <top>/PKG-INFO in the sdist");
        let err = pkg_info(Cursor::new(b"not gzip at all"), SdistExtension::TarGz, "demo-1.0.tar.gz").unwrap_err();
        assert!(matches!(err, MetadataError::Archive { .. }), "{err}");
        let err = pkg_info(Cursor::new(b"not zip at all"), SdistExtension::Zip, "demo-1.0.zip").unwrap_err();
        assert!(err.to_string().starts_with("demo-1.0.zip: not a zip file"), "{err}");
    }

    #[test]
    fn bz2_and_xz_sdists_are_refused_with_a_clear_message() {
        for extension in [SdistExtension::TarBz2, SdistExtension::TarXz] {
            let err = pkg_info(Cursor::new(b""), extension, "demo-1.0.tar.xz").unwrap_err();
            assert_eq!(
                err.to_string(),
                "demo-1.0.tar.xz: no wheel, and hashlock reads only .tar.gz, .tgz, .tar and .zip sdists"
            );
        }
    }

    #[test]
    fn oversized_pkg_info_is_refused() {
        let huge = vec![b'x'; (MAX_METADATA_SIZE + 1) as usize];
        let sdist = tar_gz(&[("demo-1.0/PKG-INFO", &huge)]);
        assert!(
            pkg_info(Cursor::new(&sdist), SdistExtension::TarGz, "d").unwrap_err().to_string().contains("larger than")
        );
    }

    #[test]
    fn only_static_requires_dist_from_metadata_2_2_is_usable() {
        assert!(is_static(&parse(STATIC)));
        // Other dynamic fields do not matter.
        assert!(is_static(&parse(b"Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nDynamic: Classifier\n")));
        assert!(!is_static(&parse(b"Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: Requires-Dist\n")));
        assert!(!is_static(&parse(STALE)));
        assert!(!is_static(&parse(b"Name: demo\nVersion: 1.0\n")));
        assert!(is_static(&parse(b"Metadata-Version: 2.10\nName: demo\nVersion: 1.0\n")));
    }
}
