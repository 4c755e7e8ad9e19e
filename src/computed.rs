//! `--compute-missing-hashes`: the sha256 of pinned files whose index publishes none (only md5
//! or sha1, or nothing, as some Nexus, Artifactory and devpi set-ups serve), computed from a
//! download. Trust on first use: the bytes are whatever the index served this once, checked
//! against any weak hash it did publish.

use std::io::Read;

use rayon::prelude::*;
use reqwest::Url;
use sha2::{Digest, Sha256};

use crate::dist::{DistFile, HashSource, is_sha256_hex, lower_hex};
use crate::index::IndexClient;
use crate::index::cache::ComputedKey;
use crate::index::http::{HttpError, redact, redact_text};
use crate::lock::{Lock, pip_hash};
use crate::metadata::MAX_DOWNLOAD_SIZE;

/// What one download of a file gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub sha256: String,
    pub md5: String,
    pub sha1: String,
}

impl Digests {
    /// Streams `body` through every hasher at once, in 64 KiB blocks (never whole in memory).
    pub fn of(body: &mut dyn Read) -> std::io::Result<Self> {
        let (mut sha256, mut md5, mut sha1) = (Sha256::new(), md5::Md5::new(), sha1::Sha1::new());
        let mut buffer = vec![0u8; 64 * 1024];
        let mut size = 0;
        loop {
            let read = body.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            let block = &buffer[..read];
            sha256.update(block);
            md5.update(block);
            sha1.update(block);
            size += read as u64;
        }
        Ok(Self {
            size,
            sha256: lower_hex(&sha256.finalize()),
            md5: lower_hex(&md5.finalize()),
            sha1: lower_hex(&sha1.finalize()),
        })
    }

    /// As stored in the cache: `size`, `sha256`, `md5`, `sha1` lines.
    fn encode(&self) -> String {
        format!("size {}\nsha256 {}\nmd5 {}\nsha1 {}\n", self.size, self.sha256, self.md5, self.sha1)
    }

    /// What [`encode`](Self::encode) wrote; `None` for anything else.
    fn decode(text: &str) -> Option<Self> {
        let mut lines = text.lines().map(|line| line.split_once(' '));
        let mut field = |name: &str| match lines.next()? {
            Some((key, value)) if key == name && !value.is_empty() => Some(value.to_string()),
            _ => None,
        };
        let digests = Self {
            size: field("size")?.parse().ok()?,
            sha256: field("sha256").filter(|hex| is_sha256_hex(hex))?,
            md5: field("md5")?,
            sha1: field("sha1")?,
        };
        lines.next().is_none().then_some(digests)
    }

    /// The digest of a weak algorithm this computes, for comparing with the index's.
    fn weak(&self, algorithm: &str) -> Option<&str> {
        match algorithm {
            "md5" => Some(&self.md5),
            "sha1" => Some(&self.sha1),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{url}: {message}")]
    Download { url: String, message: String },
    #[error("cannot start the download threads: {0}")]
    Threads(String),
    /// The bytes served are not the ones the page describes: a tampered or replaced file.
    #[error("{filename}: the index publishes {what}, but the file downloaded from {url} has {found}")]
    Mismatch { filename: String, url: String, what: String, found: String },
}

/// Fills in the sha256 of every file of `lock` that has no hash pip accepts, downloading them
/// `jobs` at a time (or reading a digest computed before from the cache), and marks them
/// [`HashSource::Computed`]. Returns how many it filled in.
pub fn fill_missing(client: &IndexClient, lock: &mut Lock, jobs: usize) -> Result<usize, ComputeError> {
    let files: Vec<&mut DistFile> =
        lock.packages.iter_mut().flat_map(|p| p.files.iter_mut()).filter(|f| pip_hash(f).is_none()).collect();
    let count = files.len();
    if count == 0 {
        return Ok(0);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.clamp(1, count))
        .build()
        .map_err(|e| ComputeError::Threads(e.to_string()))?;
    pool.install(|| files.into_par_iter().try_for_each(|file| fill(client, file)))?;
    Ok(count)
}

fn fill(client: &IndexClient, file: &mut DistFile) -> Result<(), ComputeError> {
    let url = Url::parse(&file.url)
        .map_err(|e| ComputeError::Download { url: redact_text(&file.url), message: format!("not a URL: {e}") })?;
    let key = ComputedKey::of(&url, file.size);
    let cached = client.cache().and_then(|cache| cache.read_computed(&key, Digests::decode));
    let digests = match cached {
        Some(digests) => digests,
        None => download(client, &url)?,
    };
    let mismatch = |what: String, found: String| ComputeError::Mismatch {
        filename: file.filename.clone(),
        url: redact(&url),
        what,
        found,
    };
    if let Some(size) = file.size.filter(|size| *size != digests.size) {
        return Err(mismatch(format!("a size of {size} bytes"), format!("{} bytes", digests.size)));
    }
    for (algorithm, published) in file.hashes.iter() {
        if let Some(found) = digests.weak(algorithm).filter(|found| !published.eq_ignore_ascii_case(found)) {
            return Err(mismatch(format!("{algorithm} {published}"), format!("{algorithm} {found}")));
        }
    }
    if let Some(cache) = client.cache() {
        cache.write_computed(&key, &digests.encode());
    }
    file.hashes.insert("sha256".into(), digests.sha256);
    file.hash_source = HashSource::Computed;
    Ok(())
}

fn download(client: &IndexClient, url: &Url) -> Result<Digests, ComputeError> {
    Ok(client.http().download(url, MAX_DOWNLOAD_SIZE, Digests::of)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_of_a_stream() {
        let digests = Digests::of(&mut &b"abc"[..]).unwrap();
        assert_eq!(digests.size, 3);
        assert_eq!(digests.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(digests.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(digests.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(digests.weak("md5"), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(digests.weak("sha512"), None);
        assert_eq!(Digests::decode(&digests.encode()), Some(digests.clone()));
        let encoded = digests.encode();
        for damaged in [&encoded[1..], &encoded.replace("sha256 ba", "sha256 "), &format!("{encoded}x y\n"), ""] {
            assert_eq!(Digests::decode(damaged), None, "{damaged:?}");
        }
    }

    proptest::proptest! {
        /// A `computed/` entry is whatever is on disk: any text decodes or is refused, and
        /// every encoded entry reads back.
        #[test]
        fn decode_never_panics_and_round_trips(text in "(?s).{0,200}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Digests::decode(&text);
            let digests = Digests::of(&mut &bytes[..]).unwrap();
            proptest::prop_assert_eq!(digests.size, bytes.len() as u64);
            proptest::prop_assert_eq!(Digests::decode(&digests.encode()), Some(digests));
        }
    }
}
