//! The on-disk cache. Layout (stable: the fixture recorder reads it):
//!
//! - `pages/<index-key>/<normalised-name>.json`: `{"fetched_at": unix secs, "max_age": secs or
//!   null, "page": ProjectPage}`; expires after `max_age` (from `Cache-Control`) or a default TTL.
//! - `metadata/<sha256 of the distribution file>.metadata`: the raw core metadata; kept forever
//!   (files are immutable). Files without a sha256 are keyed by the sha256 of their URL.
//! - `pip-default-index`: pip's built-in index URL, learned once from the `pip` on PATH.
//!
//! Writes go to a temp file in the same directory, then rename; a corrupt entry is removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pep508_rs::PackageName;
use reqwest::Url;

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
        todo!()
    }

    pub fn read_page(&self, index: &Url, name: &PackageName) -> Option<ProjectPage> {
        let _ = (index, name);
        todo!()
    }

    pub fn write_page(&self, index: &Url, page: &ProjectPage, max_age: Option<Duration>) {
        let _ = (index, page, max_age);
        todo!()
    }

    pub fn read_metadata(&self, file: &DistFile) -> Option<Vec<u8>> {
        let _ = file;
        todo!()
    }

    pub fn write_metadata(&self, file: &DistFile, metadata: &[u8]) {
        let _ = (file, metadata);
        todo!()
    }

    /// A small text value under the cache root (e.g. pip's default index URL).
    pub fn read_text(&self, key: &str) -> Option<String> {
        let _ = key;
        todo!()
    }

    pub fn write_text(&self, key: &str, value: &str) {
        let _ = (key, value);
        todo!()
    }

    /// Total size in bytes of the files in the cache.
    pub fn size(&self) -> u64 {
        todo!()
    }

    /// Removes everything in the cache.
    pub fn clean(&self) -> std::io::Result<()> {
        todo!()
    }
}
