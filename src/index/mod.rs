//! Talking to Python package indexes: which index ([`config`]), HTTP ([`http`]),
//! project pages ([`simple`]) and the on-disk cache ([`cache`]).

pub mod cache;
pub mod config;
pub mod http;
pub mod simple;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use pep508_rs::PackageName;
use reqwest::Url;

use crate::dist::DistFile;
use cache::Cache;
use http::{HttpClient, HttpError};
pub use simple::{PageFormat, ProjectPage};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The page came back but could not be read as PEP 691 JSON or PEP 503 HTML.
    #[error("{url}: {message}")]
    BadPage { url: String, message: String },
    #[error("package `{name}` was not found on {indexes}")]
    NotFound { name: PackageName, indexes: String },
    #[error("{0}")]
    Offline(String),
}

/// A project as seen across all configured indexes: one page per index that knows it.
#[derive(Clone, Debug)]
pub struct Project {
    pub name: PackageName,
    pub pages: Vec<ProjectPage>,
}

impl Project {
    /// Every file of every page, in index order (primary index first).
    pub fn files(&self) -> impl Iterator<Item = &DistFile> {
        self.pages.iter().flat_map(|page| page.files.iter())
    }
}

/// Fetches project pages from the configured indexes, once per name (concurrent callers for
/// the same name wait for the first fetch), through the on-disk cache.
pub struct IndexClient {
    http: HttpClient,
    indexes: Vec<Url>,
    cache: Option<Cache>,
    /// Hosts that answered a range request with something other than 206: later metadata
    /// fetches go straight to the next fallback instead of asking again.
    range_refused: Mutex<BTreeSet<String>>,
}

impl IndexClient {
    /// `indexes`: the primary index first, then extra indexes; pages are merged as pip does.
    pub fn new(http: HttpClient, indexes: Vec<Url>, cache: Option<Cache>) -> Self {
        let _ = (http, indexes, cache);
        todo!()
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    pub fn cache(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }

    pub fn indexes(&self) -> &[Url] {
        &self.indexes
    }

    /// Whether `url`'s host is known to refuse HTTP range requests.
    pub fn range_refused(&self, url: &Url) -> bool {
        let hosts = self.range_refused.lock().unwrap_or_else(|poison| poison.into_inner());
        hosts.contains(&host_key(url))
    }

    /// Remembers that `url`'s host refuses range requests.
    pub fn refuse_range(&self, url: &Url) {
        let mut hosts = self.range_refused.lock().unwrap_or_else(|poison| poison.into_inner());
        hosts.insert(host_key(url));
    }

    /// The project's pages on every index. `NotFound` when no index knows the name.
    pub fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        let _ = name;
        todo!()
    }
}

/// `scheme://host:port`: the unit a range-request capability is remembered for.
fn host_key(url: &Url) -> String {
    format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0))
}
