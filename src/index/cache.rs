//! The on-disk cache. Layout (stable: the fixture recorder reads it):
//!
//! - `pages/<index-key>/<normalised-name>.json`: `{"fetched_at": unix secs, "max_age": secs or
//!   null, "page": ProjectPage}`; expires after `max_age` (from `Cache-Control`) or a default TTL.
//! - `metadata/<sha256 of the distribution file>.metadata`: the raw core metadata; kept forever
//!   (files are immutable). Files without a sha256 are keyed by the sha256 of their URL.
//! - `pip-default-index`: pip's built-in index URL, learned once from the `pip` on PATH.
//!
//! Writes go to a temp file in the same directory, then rename; a corrupt entry is removed.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pep508_rs::PackageName;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dist::DistFile;
use crate::index::ProjectPage;

/// How long a project page stays fresh when the index sends no `Cache-Control`.
pub const DEFAULT_PAGE_TTL: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Fresh pages are used; stale ones fetched again.
    Normal,
    /// `--refresh`: pages are always fetched again (metadata, being immutable, is still used).
    Refresh,
    /// `--offline`: whatever is there is used, stale or not.
    Offline,
}

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
    freshness: Freshness,
}

impl Cache {
    pub fn new(root: PathBuf, freshness: Freshness) -> Self {
        Self { root, freshness }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    /// The platform's cache dir for hashlock (`$XDG_CACHE_HOME/hashlock`, `~/.cache/hashlock`,
    /// `~/Library/Caches/hashlock`, `%LOCALAPPDATA%\hashlock`).
    pub fn default_dir() -> Option<PathBuf> {
        default_dir_from(|name| std::env::var_os(name))
    }

    pub fn read_page(&self, index: &Url, name: &PackageName) -> Option<ProjectPage> {
        if self.freshness == Freshness::Refresh {
            return None;
        }
        let path = self.page_path(index, name);
        let bytes = std::fs::read(&path).ok()?;
        let Some(entry) = serde_json::from_slice::<PageEntry>(&bytes).ok().filter(|e| &e.page.name == name) else {
            discard(&path);
            return None;
        };
        let fresh = self.freshness == Freshness::Offline
            || unix_now()
                .checked_sub(entry.fetched_at)
                .is_some_and(|age| age < entry.max_age.map_or(DEFAULT_PAGE_TTL, Duration::from_secs).as_secs());
        fresh.then_some(entry.page)
    }

    pub fn write_page(&self, index: &Url, page: &ProjectPage, max_age: Option<Duration>) {
        let entry = PageEntry { fetched_at: unix_now(), max_age: max_age.map(|d| d.as_secs()), page: page.clone() };
        if let Ok(json) = serde_json::to_vec(&entry) {
            write_atomic(&self.page_path(index, &page.name), &json);
        }
    }

    pub fn read_metadata(&self, file: &DistFile) -> Option<Vec<u8>> {
        let path = self.metadata_path(file);
        let bytes = std::fs::read(&path).ok()?;
        let content = split_checked(&bytes);
        if content.is_none() {
            discard(&path);
        }
        content.map(<[u8]>::to_vec)
    }

    pub fn write_metadata(&self, file: &DistFile, metadata: &[u8]) {
        let mut bytes = format!("{CHECK_PREFIX}{}\n", sha256_hex(metadata)).into_bytes();
        bytes.extend_from_slice(metadata);
        write_atomic(&self.metadata_path(file), &bytes);
    }

    /// A small text value under the cache root (e.g. pip's default index URL).
    pub fn read_text(&self, key: &str) -> Option<String> {
        let path = self.text_path(key)?;
        std::fs::read_to_string(path).ok().filter(|value| !value.is_empty())
    }

    pub fn write_text(&self, key: &str, value: &str) {
        if let Some(path) = self.text_path(key) {
            write_atomic(&path, value.as_bytes());
        }
    }

    /// Total size in bytes of the files in the cache.
    pub fn size(&self) -> u64 {
        dir_size(&self.root)
    }

    /// Removes everything in the cache.
    pub fn clean(&self) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(&self.root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(entry.path())?;
            } else {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    fn page_path(&self, index: &Url, name: &PackageName) -> PathBuf {
        self.root.join("pages").join(index_key(index)).join(format!("{name}.json"))
    }

    /// Keyed by the file's sha256 when the index published a well-formed one, else by the
    /// sha256 of its URL (so an index's hash value never becomes a path by itself).
    fn metadata_path(&self, file: &DistFile) -> PathBuf {
        let key = match file.sha256() {
            Some(digest) if digest.len() == 64 && digest.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => {
                digest.to_string()
            }
            _ => sha256_hex(file.url.as_str().as_bytes()),
        };
        self.root.join("metadata").join(format!("{key}.metadata"))
    }

    /// Text keys are plain file names under the root; anything path-like is refused.
    fn text_path(&self, key: &str) -> Option<PathBuf> {
        let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        plain.then(|| self.root.join(key))
    }
}

/// How an index's `Cache-Control` header asks a project page to be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachePolicy {
    /// No usable directive: [`DEFAULT_PAGE_TTL`] applies.
    Default,
    /// `max-age=N`; `no-cache` is `MaxAge(0)` (kept for `--offline`, never fresh).
    MaxAge(Duration),
    /// `no-store`: not written to disk at all.
    NoStore,
}

impl CachePolicy {
    /// Parses a `Cache-Control` header value (directives are case-insensitive; unknown ones
    /// and malformed `max-age` values are ignored).
    pub fn parse(cache_control: Option<&str>) -> Self {
        let mut policy = Self::Default;
        for directive in cache_control.unwrap_or_default().split(',') {
            let (key, value) = directive.split_once('=').unwrap_or((directive, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "no-store" => return Self::NoStore,
                "no-cache" => policy = Self::MaxAge(Duration::ZERO),
                "max-age" if policy == Self::Default => {
                    if let Ok(secs) = value.trim().trim_matches('"').parse::<u64>() {
                        policy = Self::MaxAge(Duration::from_secs(secs));
                    }
                }
                _ => {}
            }
        }
        policy
    }
}

/// The JSON envelope of a cached project page.
#[derive(Serialize, Deserialize)]
struct PageEntry {
    fetched_at: u64,
    max_age: Option<u64>,
    page: ProjectPage,
}

/// First line of a metadata entry: `sha256:<hex of the rest>`.
const CHECK_PREFIX: &str = "sha256:";

/// The content after a valid integrity line, or `None` when the entry is damaged.
fn split_checked(bytes: &[u8]) -> Option<&[u8]> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let expected = std::str::from_utf8(&bytes[..newline]).ok()?.strip_prefix(CHECK_PREFIX)?;
    let content = &bytes[newline + 1..];
    (sha256_hex(content) == expected).then_some(content)
}

fn default_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let nonempty = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = if cfg!(windows) {
        nonempty("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        nonempty("HOME").map(|home| home.join("Library").join("Caches"))
    } else {
        nonempty("XDG_CACHE_HOME")
            .filter(|dir| dir.is_absolute())
            .or_else(|| nonempty("HOME").map(|home| home.join(".cache")))
    };
    base.map(|dir| dir.join("hashlock"))
}

/// The cache directory name for an index: sha256 of its URL without credentials, first 16 hex
/// digits (a rotated token keeps the cache; no secret reaches the file system).
fn index_key(index: &Url) -> String {
    let mut url = index.clone();
    // Fails only for URLs that cannot carry credentials anyway.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    sha256_hex(url.as_str().as_bytes())[..16].to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Removes a damaged entry; a failure only means the next read discards it again.
fn discard(path: &Path) {
    let _ = std::fs::remove_file(path);
}

/// Writes through a temp file in the same directory and a rename, so readers see the old
/// entry or the whole new one. The cache is an optimisation: failures are ignored.
fn write_atomic(path: &Path, bytes: &[u8]) {
    let write = || -> std::io::Result<()> {
        let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
        std::fs::create_dir_all(dir)?;
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(bytes)?;
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    let _ = write();
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
