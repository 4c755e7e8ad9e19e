//! PEP 658/714: the `<file URL>.metadata` file, checked against its advertised hash.

use reqwest::Url;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::dist::{Hashes, lower_hex};
use crate::index::http::{HttpClient, HttpError, RequestKind, redact};
use crate::metadata::{MAX_METADATA_SIZE, MetadataError};

/// Fetches the metadata file advertised for the file at `file_url`. `hashes` are those the index gave for the
/// metadata file (possibly none). `None` when the server answers 404: the caller falls back to
/// the next method.
pub fn fetch(http: &HttpClient, file_url: &Url, hashes: &Hashes) -> Result<Option<Vec<u8>>, MetadataError> {
    let url = metadata_url(file_url);
    let response = http.get(RequestKind::Metadata, &url, &[], MAX_METADATA_SIZE)?;
    match response.status {
        200 => {
            if verify(hashes, &response.body) {
                Ok(Some(response.body))
            } else {
                Err(MetadataError::HashMismatch { url: redact(&url) })
            }
        }
        404 => Ok(None),
        status => Err(HttpError::unexpected_status(&url, status).into()),
    }
}

/// The distribution's URL with `.metadata` appended to its path (a query string stays put).
pub fn metadata_url(file_url: &Url) -> Url {
    let mut url = file_url.clone();
    url.set_path(&format!("{}.metadata", file_url.path()));
    url.set_fragment(None);
    url
}

/// Whether `body` matches every advertised hash hashlock can compute (sha256, sha384, sha512).
/// With no such hash there is nothing to check and the body is accepted, as pip does.
pub fn verify(hashes: &Hashes, body: &[u8]) -> bool {
    hashes.iter().all(|(algorithm, expected)| {
        let actual = match algorithm.as_str() {
            "sha256" => lower_hex(&Sha256::digest(body)),
            "sha384" => lower_hex(&Sha384::digest(body)),
            "sha512" => lower_hex(&Sha512::digest(body)),
            _ => return true,
        };
        actual.eq_ignore_ascii_case(expected.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";

    fn hashes(pairs: &[(&str, &str)]) -> Hashes {
        pairs.iter().map(|(alg, hex)| (alg.to_string(), hex.to_string())).collect()
    }

    #[test]
    fn matching_sha256_is_accepted_in_any_case() {
        let digest = lower_hex(&Sha256::digest(BODY));
        assert!(verify(&hashes(&[("sha256", &digest)]), BODY));
        assert!(verify(&hashes(&[("sha256", &digest.to_uppercase())]), BODY));
    }

    #[test]
    fn tampered_body_is_a_mismatch() {
        let digest = lower_hex(&Sha256::digest(BODY));
        assert!(!verify(&hashes(&[("sha256", &digest)]), b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"));
    }

    #[test]
    fn every_supported_algorithm_must_match() {
        let good256 = lower_hex(&Sha256::digest(BODY));
        let good512 = lower_hex(&Sha512::digest(BODY));
        assert!(verify(&hashes(&[("sha256", &good256), ("sha512", &good512)]), BODY));
        assert!(!verify(&hashes(&[("sha256", &good256), ("sha384", &good512)]), BODY));
    }

    #[test]
    fn unsupported_or_absent_hashes_are_not_checked() {
        assert!(verify(&Hashes::new(), BODY));
        assert!(verify(&hashes(&[("md5", "00")]), BODY));
    }

    #[test]
    fn metadata_url_appends_to_the_path() {
        let url = Url::parse("https://files.example/p/demo-1.0-py3-none-any.whl?x=1").unwrap();
        assert_eq!(metadata_url(&url).as_str(), "https://files.example/p/demo-1.0-py3-none-any.whl.metadata?x=1");
    }
}
