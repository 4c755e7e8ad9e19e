//! Talking to Python package indexes: which index ([`config`]), HTTP ([`http`]),
//! project pages ([`simple`]) and the on-disk cache ([`cache`]).

pub mod cache;
pub mod config;
pub mod http;
pub mod simple;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use pep508_rs::PackageName;
use reqwest::Url;

use crate::dist::DistFile;
use cache::{Cache, CachePolicy, Freshness};
use http::{HttpClient, HttpError, redact};
pub use simple::{PageFormat, ProjectPage};

/// Clone: one failed fetch is handed to every caller that waited for it.
#[derive(Clone, Debug, thiserror::Error)]
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
    /// One slot per project name: the first caller fetches, concurrent ones wait for it.
    projects: Mutex<HashMap<PackageName, Arc<OnceLock<ProjectResult>>>>,
}

type ProjectResult = Result<Arc<Project>, IndexError>;

impl IndexClient {
    /// `indexes`: the primary index first, then extra indexes; pages are merged as pip does.
    pub fn new(http: HttpClient, indexes: Vec<Url>, cache: Option<Cache>) -> Self {
        Self { http, indexes, cache, range_refused: Mutex::default(), projects: Mutex::default() }
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
        let slot = {
            let mut projects = self.projects.lock().unwrap_or_else(|poison| poison.into_inner());
            Arc::clone(projects.entry(name.clone()).or_default())
        };
        slot.get_or_init(|| self.fetch_project(name)).clone()
    }

    fn fetch_project(&self, name: &PackageName) -> ProjectResult {
        let mut pages = Vec::new();
        let mut offline_misses = 0;
        for index in &self.indexes {
            match self.fetch_page(index, name)? {
                Fetched::Page(page) => pages.push(page),
                Fetched::Unknown => {}
                Fetched::OfflineMiss => offline_misses += 1,
            }
        }
        if pages.is_empty() {
            let indexes = self.indexes.iter().map(redact).collect::<Vec<_>>().join(", ");
            return Err(if offline_misses > 0 {
                IndexError::Offline(format!(
                    "package `{name}`: no cached page for {indexes}, and --offline forbids the network"
                ))
            } else {
                IndexError::NotFound { name: name.clone(), indexes }
            });
        }
        Ok(Arc::new(Project { name: name.clone(), pages }))
    }

    /// One index's page for `name`: from the cache when it may be used, else from the network
    /// (and then stored as the index's `Cache-Control` allows).
    fn fetch_page(&self, index: &Url, name: &PackageName) -> Result<Fetched, IndexError> {
        if let Some(page) = self.cache.as_ref().and_then(|cache| cache.read_page(index, name)) {
            return Ok(Fetched::Page(page));
        }
        if self.cache.as_ref().is_some_and(|cache| cache.freshness() == Freshness::Offline) {
            return Ok(Fetched::OfflineMiss);
        }
        let url = page_url(index, name);
        let response = match self.http.get(&url, &[("Accept", simple::ACCEPT)]) {
            Ok(response) => response,
            Err(HttpError::Offline { .. }) => return Ok(Fetched::OfflineMiss),
            Err(error) => return Err(error.into()),
        };
        match response.status {
            200..=299 => {}
            404 | 410 => return Ok(Fetched::Unknown),
            status => return Err(HttpError::Status { url: redact(&response.url), status, attempts: 1 }.into()),
        }
        let page = simple::parse_page(name, &response.url, response.content_type.as_deref(), &response.body)
            .map_err(|e| IndexError::BadPage { url: redact(&response.url), message: e.message })?;
        if let Some(cache) = &self.cache {
            match CachePolicy::parse(response.cache_control.as_deref()) {
                CachePolicy::NoStore => {}
                CachePolicy::Default => cache.write_page(index, &page, None),
                CachePolicy::MaxAge(max_age) => cache.write_page(index, &page, Some(max_age)),
            }
        }
        Ok(Fetched::Page(page))
    }
}

/// What one index said about a project.
enum Fetched {
    Page(ProjectPage),
    /// 404 or 410: this index does not have the project.
    Unknown,
    /// Not cached, and the network is off limits.
    OfflineMiss,
}

/// `<index>/<normalised-name>/`, whether or not the index URL ends with a slash.
fn page_url(index: &Url, name: &PackageName) -> Url {
    let mut url = index.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    // Normalised names are `[a-z0-9-]+`: a plain relative path segment.
    url.join(&format!("{name}/")).unwrap_or(url)
}

/// `scheme://host:port`: the unit a range-request capability is remembered for.
fn host_key(url: &Url) -> String {
    format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0))
}
