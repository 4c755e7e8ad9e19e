//! Talking to Python package indexes: which index ([`config`]), HTTP ([`http`]),
//! project pages ([`simple`]), files' PEP 740 provenance ([`provenance`]) and the on-disk
//! cache ([`cache`]).

pub mod cache;
pub mod config;
pub mod http;
mod page_file;
pub(crate) mod pip_files;
pub mod provenance;
pub mod simple;

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use reqwest::Url;

use crate::dist::{DistFile, DistFilename};
use cache::{Cache, CachePolicy, Freshness};
use http::{HttpClient, HttpError, redact};
use page_file::CachedPage;
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
    /// The index could not be reached, and a page the cache holds is past its lifetime.
    #[error("{error}; a cached copy from {fetched} exists, and --allow-stale would use it")]
    Unreachable { error: HttpError, fetched: String },
}

/// Which indexes a project's versions are taken from, named and defined as uv's
/// `--index-strategy` (a project on several indexes is how dependency confusion works).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexStrategy {
    /// Only the first index (in order) that has the project; later ones are not asked.
    #[default]
    FirstIndex,
    /// Every index, the versions of the first one preferred, then those of the next; a version
    /// is taken from the first index that lists it.
    UnsafeFirstMatch,
    /// Every index merged, the best (newest) version wins: pip's behaviour. A version several
    /// indexes list has all their files, checked by `mixed-indexes` and `index-disagreement`.
    UnsafeBestMatch,
}

/// An index that serves a project, and the newest version it lists (none: no file whose
/// filename gives one).
pub type Serving = (Url, Option<Version>);

/// A project as seen across all configured indexes: one page per index that knows it. Pages are
/// kept in the cache's line form (also when just fetched): a version's files are decoded when
/// that version is asked for, and most never are.
#[derive(Debug)]
pub struct Project {
    pub name: PackageName,
    pages: Vec<CachedPage>,
    /// The index each page came from, by position in `pages`.
    indexes: Vec<Url>,
    /// Every index asked that serves the project, in index order, when more than one does
    /// (also those whose page the strategy left out); empty otherwise.
    shadowing: Vec<Serving>,
    /// [`IndexStrategy::UnsafeFirstMatch`]: a version's files come from the first page that
    /// lists it, and earlier pages' versions are preferred.
    first_match: bool,
    /// The distribution files grouped by version, on first use, where the pages must be merged
    /// (several indexes, or an entry of format 6): the resolver, the prefetcher and the lock
    /// all ask "which files has version V", and a large project lists thousands. Sorted by
    /// version, one entry each: looked up by binary search. One page of format 7 is its own
    /// list (see [`Project::page_in_order`]).
    releases: OnceLock<Releases>,
}

/// Where a file sits: `(page, file)` in [`Project::pages`].
type FileIndex = (usize, usize);

/// One per version of thousands: kept small (u32 positions), and no allocation until asked.
#[derive(Debug)]
struct ReleaseFiles {
    /// Where its files are, as runs `(page, files)`: the first inline, since most versions
    /// have one, and an allocation per version of thousands showed in a warm run.
    first: Run,
    more: Vec<Run>,
    /// The files, decoded the first time this version is asked for.
    files: OnceLock<Box<[DistFile]>>,
}

impl ReleaseFiles {
    /// The release's files in order, one run `(page, files)` after another, merged from
    /// `groups`, sorted by version (an entry each, in page order within one; `count` at most).
    fn merge<'v>(
        groups: impl Iterator<Item = (usize, &'v Version, Range<usize>)>,
        count: usize,
        first_match: bool,
    ) -> Releases {
        let mut releases: Releases = Vec::with_capacity(count);
        for (page_index, version, files) in groups {
            // Page numbers and file positions within a page fit: a page is at most 4 GiB.
            let run = (page_index as u32, files.start as u32..files.end as u32);
            match releases.last_mut() {
                Some((last, release)) if last == version => {
                    // First match: a version an earlier index lists is that index's alone.
                    if !(first_match && release.first.0 < run.0) {
                        release.more.push(run);
                    }
                }
                _ => releases
                    .push((version.clone(), ReleaseFiles { first: run, more: Vec::new(), files: OnceLock::new() })),
            }
        }
        releases
    }
}

/// A run of a release's files: `(page, files)`, positions in [`Project::pages`].
type Run = (u32, Range<u32>);

/// A project's versions, sorted, each with its files.
type Releases = Vec<(Version, ReleaseFiles)>;

/// What choosing a version needs to know of a file, without decoding all of it.
pub struct FileSummary<'p> {
    pub filename: Cow<'p, str>,
    pub requires_python: Option<Cow<'p, str>>,
    pub yanked: bool,
}

impl Project {
    /// `None` only for a page too large to keep (over 4 GiB as text). Each page stands for the
    /// index at its own URL.
    pub fn from_pages(name: PackageName, pages: &[ProjectPage]) -> Option<Self> {
        let indexes = pages.iter().map(|page| page.url.clone()).collect();
        let pages = pages.iter().map(CachedPage::from_page).collect::<Option<Vec<_>>>()?;
        Some(Self::of_pages(name, pages, indexes))
    }

    fn of_pages(name: PackageName, pages: Vec<CachedPage>, indexes: Vec<Url>) -> Self {
        Self { name, pages, indexes, shadowing: Vec::new(), first_match: false, releases: OnceLock::new() }
    }

    /// The indexes serving this project when more than one does (see [`IndexStrategy`]).
    pub fn shadowing(&self) -> &[Serving] {
        &self.shadowing
    }

    /// Under [`IndexStrategy::UnsafeFirstMatch`], the position of the index a version comes
    /// from, which outranks its newness; `0` for every version otherwise.
    pub fn index_rank(&self, version: &Version) -> usize {
        match self.first_match {
            true => self.release(version).runs().next().map_or(0, |(page, _)| page),
            false => 0,
        }
    }

    /// Every distribution file of every page (wheels and sdists; not eggs or installers).
    pub fn files(&self) -> impl Iterator<Item = &DistFile> {
        self.releases().flat_map(|(_, release)| release.files())
    }

    /// The versions with at least one wheel or sdist, oldest first (PEP 440 order, so `1.0` and
    /// `1.0.0` are one version), each with its files in index order.
    pub fn releases(&self) -> impl DoubleEndedIterator<Item = (&Version, Release<'_>)> {
        (0..self.release_count()).filter_map(|position| self.release_at(position))
    }

    /// The files of `version` (PEP 440 equality), in index order.
    pub fn release(&self, version: &Version) -> Release<'_> {
        self.find(version).map_or(Release { project: self, files: None }, |(_, release)| release)
    }

    /// How many versions [`Project::releases`] gives.
    pub fn release_count(&self) -> usize {
        match self.page_in_order() {
            Some((_, count)) => count,
            None => self.release_index().len(),
        }
    }

    /// The version at `position` in [`Project::releases`], and its files.
    pub fn release_at(&self, position: usize) -> Option<(&Version, Release<'_>)> {
        if let Some((page, count)) = self.page_in_order() {
            let (version, _) = page.release(position).filter(|_| position < count)?;
            return Some((version, Release { project: self, files: Some(ReleaseAt::Group(position)) }));
        }
        let (version, files) = self.release_index().get(position)?;
        Some((version, Release { project: self, files: Some(ReleaseAt::Merged(files)) }))
    }

    /// Where `version` is in [`Project::releases`].
    pub fn release_position(&self, version: &Version) -> Option<usize> {
        self.find(version).map(|(position, _)| position)
    }

    /// Where `version` is in [`Project::releases`], and its files.
    fn find(&self, version: &Version) -> Option<(usize, Release<'_>)> {
        let at = self.releases_before(version, false);
        self.release_at(at).filter(|(listed, _)| *listed == version).map(|(_, release)| (at, release))
    }

    /// How many of [`Project::releases`] come before `version` (and it, when `including`),
    /// found by binary search: in one page in order, a dozen versions of thousands are parsed.
    pub fn releases_before(&self, version: &Version, including: bool) -> usize {
        let (mut low, mut high) = (0, self.release_count());
        while low < high {
            let middle = low + (high - low) / 2;
            // A version that does not parse (a damaged entry, recorded as such) ends the search.
            let Some((listed, _)) = self.release_at(middle) else { return low };
            match if including { listed <= version } else { listed < version } {
                true => low = middle + 1,
                false => high = middle,
            }
        }
        low
    }

    /// The project's one page when its groups are its releases (see
    /// [`CachedPage::releases_in_order`]), and how many there are.
    fn page_in_order(&self) -> Option<(&CachedPage, usize)> {
        match self.pages.as_slice() {
            [page] => page.releases_in_order().map(|count| (page, count)),
            _ => None,
        }
    }

    /// Under [`IndexStrategy::UnsafeFirstMatch`]: whether [`Project::index_rank`] can be other
    /// than `0`.
    pub fn ranks_indexes(&self) -> bool {
        self.first_match
    }

    fn release_index(&self) -> &[(Version, ReleaseFiles)] {
        self.releases.get_or_init(|| {
            // Sorted, then built in one go: inserted one by one, thousands of versions cost a
            // tenth of a warm run in comparisons. The sort is stable: page order stays.
            let mut groups: Vec<(usize, &Version, Range<usize>)> =
                Vec::with_capacity(self.pages.iter().map(CachedPage::version_count).sum());
            for (page_index, page) in self.pages.iter().enumerate() {
                groups.extend(page.versions().map(|(version, files)| (page_index, version, files)));
            }
            groups.sort_by(|a, b| a.1.cmp(b.1));
            let count = groups.len();
            ReleaseFiles::merge(groups.into_iter(), count, self.first_match)
        })
    }
}

/// The files of one version of a [`Project`].
#[derive(Clone, Copy, Debug)]
pub struct Release<'p> {
    project: &'p Project,
    files: Option<ReleaseAt<'p>>,
}

/// Where a release's files are.
#[derive(Clone, Copy, Debug)]
enum ReleaseAt<'p> {
    /// Merged from the project's pages ([`Project::release_index`]).
    Merged(&'p ReleaseFiles),
    /// The group at this position of the project's one page, whose groups are its releases.
    Group(usize),
}

impl<'p> Release<'p> {
    /// Where its files are, as runs `(page, files)` in index order.
    fn runs(&self) -> impl Iterator<Item = (usize, Range<usize>)> + use<'p> {
        let widen = |(page, files): &Run| (*page as usize, files.start as usize..files.end as usize);
        let (first, more) = match self.files {
            None => (None, [].as_slice()),
            Some(ReleaseAt::Merged(release)) => (Some(widen(&release.first)), release.more.as_slice()),
            Some(ReleaseAt::Group(at)) => {
                (self.project.pages[0].release(at).map(|(_, files)| (0, files)), [].as_slice())
            }
        };
        first.into_iter().chain(more.iter().map(widen))
    }

    /// Where each file is, in index order.
    fn indices(&self) -> impl Iterator<Item = FileIndex> + use<'p> {
        self.runs().flat_map(|(page, files)| files.map(move |file| (page, file)))
    }

    /// The files, decoded on first use (those of a damaged cache entry left out: see
    /// [`page_file::DamageLog`]).
    pub fn files(&self) -> impl Iterator<Item = &'p DistFile> + use<'p> {
        let project = self.project;
        let decoded: &'p [DistFile] = match self.files {
            None => &[],
            Some(ReleaseAt::Merged(release)) => release
                .files
                .get_or_init(|| self.indices().filter_map(|(page, file)| project.pages[page].file(file)).collect()),
            Some(ReleaseAt::Group(at)) => project.pages[0].group_files(at),
        };
        decoded.iter()
    }

    /// What choosing a version needs of each file, read without decoding the files.
    pub fn summaries(&self) -> impl Iterator<Item = FileSummary<'p>> + use<'p> {
        let project = self.project;
        self.indices().filter_map(move |(page, file)| project.pages[page].summary(file))
    }

    /// The filenames each index lists for this version, in index order (indexes that list none
    /// left out).
    pub fn filenames_by_index(&self) -> Vec<(&'p Url, BTreeSet<String>)> {
        let project = self.project;
        let mut by_index: Vec<(&Url, BTreeSet<String>)> = Vec::new();
        for (page, file) in self.indices() {
            let index = &project.indexes[page];
            let Some(filename) = project.pages[page].filename(file) else { continue };
            let filename = filename.into_owned();
            match by_index.last_mut() {
                // The indices run page by page, and the pages in index order.
                Some((last, filenames)) if *last == index => {
                    filenames.insert(filename);
                }
                _ => by_index.push((index, BTreeSet::from([filename]))),
            }
        }
        by_index
    }

    /// The files with their parsed filenames.
    pub fn parsed(&self) -> impl Iterator<Item = (&'p DistFile, DistFilename)> + use<'p> {
        let name = &self.project.name;
        self.files().filter_map(move |file| Some((file, DistFilename::parse(&file.filename, name)?)))
    }
}

/// Fetches project pages from the configured indexes, once per name (concurrent callers for
/// the same name wait for the first fetch), through the on-disk cache.
pub struct IndexClient {
    /// Shared with the client build requirements are resolved with: one pool, one count.
    http: Arc<HttpClient>,
    indexes: Vec<Url>,
    cache: Option<Cache>,
    /// Hosts that answered a range request with something other than 206: later metadata
    /// fetches go straight to the next fallback instead of asking again.
    range_refused: Mutex<BTreeSet<String>>,
    /// One slot per project name: the first caller fetches, concurrent ones wait for it.
    projects: Mutex<HashMap<PackageName, Arc<OnceLock<ProjectResult>>>>,
    page_hits: AtomicU64,
    metadata_hits: AtomicU64,
    /// Builds the metadata of sdists that do not declare it statically, when set.
    builder: OnceLock<crate::metadata::build::Builder>,
    strategy: IndexStrategy,
    /// `--allow-stale`: a cached page of an index that cannot be reached is used however old.
    allow_stale: bool,
    /// The stale pages used, as `name from index, fetched at`: said in the file's header.
    stale: Mutex<BTreeSet<String>>,
    /// Ask every index for every project even under [`IndexStrategy::FirstIndex`], to report
    /// shadowing (`audit`).
    survey: AtomicBool,
}

/// What the on-disk cache answered, for the `--verbose` summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheHits {
    pub pages: u64,
    pub metadata: u64,
}

type ProjectResult = Result<Arc<Project>, IndexError>;

impl IndexClient {
    /// `indexes`: the primary index first, then extra indexes; pages are merged as pip does.
    pub fn new(http: impl Into<Arc<HttpClient>>, indexes: Vec<Url>, cache: Option<Cache>) -> Self {
        Self {
            http: http.into(),
            indexes,
            cache,
            range_refused: Mutex::default(),
            projects: Mutex::default(),
            page_hits: AtomicU64::new(0),
            metadata_hits: AtomicU64::new(0),
            builder: OnceLock::new(),
            strategy: IndexStrategy::default(),
            allow_stale: false,
            stale: Mutex::default(),
            survey: AtomicBool::new(false),
        }
    }

    pub fn with_strategy(mut self, strategy: IndexStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    pub fn with_allow_stale(mut self, allow_stale: bool) -> Self {
        self.allow_stale = allow_stale;
        self
    }

    /// The cached pages found damaged so far (see [`Cache::damaged_pages`]); an answer read
    /// from them would miss files.
    pub fn damaged_pages(&self) -> Vec<std::path::PathBuf> {
        self.cache.as_ref().map(Cache::damaged_pages).unwrap_or_default()
    }

    /// The stale pages used so far (`--allow-stale`), sorted: `name from index, fetched DATE`.
    pub fn stale_pages(&self) -> Vec<String> {
        self.stale.lock().unwrap_or_else(|poison| poison.into_inner()).iter().cloned().collect()
    }

    /// From now on, ask every index for every project, so that [`Project::shadowing`] is
    /// known whatever the strategy (pages the strategy leaves out are still left out).
    pub fn survey_all_indexes(&self) {
        self.survey.store(true, Ordering::Relaxed);
    }

    /// Lets metadata fetches build sdists (once; later calls are ignored).
    pub fn set_builder(&self, builder: crate::metadata::build::Builder) {
        let _ = self.builder.set(builder);
    }

    pub fn builder(&self) -> Option<&crate::metadata::build::Builder> {
        self.builder.get()
    }

    pub fn cache_hits(&self) -> CacheHits {
        CacheHits {
            pages: self.page_hits.load(Ordering::Relaxed),
            metadata: self.metadata_hits.load(Ordering::Relaxed),
        }
    }

    /// Counts metadata read from the cache (the cache is read in [`crate::metadata::fetch`]).
    pub fn note_metadata_hit(&self) {
        self.metadata_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// A client of the same indexes, cache, settings and connections, with nothing fetched yet
    /// and no builder: build requirements are resolved with it, so that resolving them never
    /// recurses into another build.
    pub fn without_builder(&self) -> Self {
        Self::new(Arc::clone(&self.http), self.indexes.clone(), self.cache.clone())
            .with_strategy(self.strategy)
            .with_allow_stale(self.allow_stale)
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
        let (mut pages, mut indexes) = (Vec::new(), Vec::new());
        let mut offline_misses = 0;
        let first_index = self.strategy == IndexStrategy::FirstIndex;
        let survey = self.survey.load(Ordering::Relaxed);
        for index in &self.indexes {
            if first_index && !survey && !pages.is_empty() {
                break;
            }
            match self.fetch_page(index, name)? {
                Fetched::Page(page) => {
                    pages.push(*page);
                    indexes.push(index.clone());
                }
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
        let shadowing = match pages.len() {
            1 => Vec::new(),
            _ => indexes.iter().cloned().zip(pages.iter().map(newest_version)).collect(),
        };
        if first_index {
            pages.truncate(1);
            indexes.truncate(1);
        }
        let mut project = Project::of_pages(name.clone(), pages, indexes);
        project.shadowing = shadowing;
        project.first_match = self.strategy == IndexStrategy::UnsafeFirstMatch;
        Ok(Arc::new(project))
    }

    /// One index's page for `name`: from the cache when it may be used, else from the network
    /// (and then stored as the index's `Cache-Control` allows).
    fn fetch_page(&self, index: &Url, name: &PackageName) -> Result<Fetched, IndexError> {
        if let Some(page) = self.cache.as_ref().and_then(|cache| cache.read_page(index, name)) {
            self.page_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Fetched::Page(Box::new(page)));
        }
        if self.cache.as_ref().is_some_and(|cache| cache.freshness() == Freshness::Offline) {
            return Ok(Fetched::OfflineMiss);
        }
        let url = page_url(index, name);
        let read = |head: &http::Head<'_>, body: &mut dyn std::io::Read| match head.status {
            200..=299 => simple::read_page(name, head.url, head.content_type, body).map(Some),
            _ => Ok(None),
        };
        let response = match self.http.get_with(
            http::RequestKind::Page,
            &url,
            &[("Accept", simple::ACCEPT)],
            |_| MAX_PAGE_SIZE,
            read,
        ) {
            Ok(response) => response,
            Err(HttpError::Offline { .. }) => return Ok(Fetched::OfflineMiss),
            Err(error @ (HttpError::Transport { .. } | HttpError::Status { .. })) => {
                return self.stale_page(index, name, error);
            }
            Err(error) => return Err(error.into()),
        };
        let bad_page = |message: String| IndexError::BadPage { url: redact(&response.url), message };
        let page = match (response.status, response.body) {
            (200..=299, Some(page)) => page.map_err(|e| bad_page(e.message))?,
            (404 | 410, _) => return Ok(Fetched::Unknown),
            (status, _) => return Err(HttpError::Status { url: redact(&response.url), status, attempts: 1 }.into()),
        };
        let policy = CachePolicy::parse(response.cache_control.as_deref());
        let max_age = match policy {
            CachePolicy::MaxAge(max_age) => Some(max_age.as_secs()),
            CachePolicy::Default | CachePolicy::NoStore => None,
        };
        let text = page_file::encode(cache::unix_now(), max_age, &page);
        drop(page);
        if let Some(cache) = &self.cache
            && policy != CachePolicy::NoStore
        {
            cache.write_page(index, name, &text);
        }
        let cached = page_file::decode(text).ok_or_else(|| bad_page("the page is too large to keep".into()))?;
        Ok(Fetched::Page(Box::new(cached.page)))
    }
}

impl IndexClient {
    /// After `error` reaching `index`: the cached page however old with `--allow-stale`
    /// (remembered for the header), else the error, saying when such a page exists.
    fn stale_page(&self, index: &Url, name: &PackageName, error: HttpError) -> Result<Fetched, IndexError> {
        let Some((page, fetched_at)) = self.cache.as_ref().and_then(|cache| cache.read_stale_page(index, name)) else {
            return Err(error.into());
        };
        let fetched = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(fetched_at));
        if !self.allow_stale {
            return Err(IndexError::Unreachable { error, fetched });
        }
        let used = format!("{name} from {}, fetched {fetched}", redact(index));
        self.stale.lock().unwrap_or_else(|poison| poison.into_inner()).insert(used);
        Ok(Fetched::Page(Box::new(page)))
    }
}

/// The newest version a page lists a file of.
fn newest_version(page: &CachedPage) -> Option<Version> {
    page.versions().map(|(version, _)| version).max().cloned()
}

/// Largest project page (decoded) hashlock reads: the largest real ones are tens of MB of
/// JSON, so a page beyond this is a gzip bomb, and reading on would exhaust memory.
pub const MAX_PAGE_SIZE: u64 = 256 * 1024 * 1024;

/// What one index said about a project.
enum Fetched {
    Page(Box<CachedPage>),
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

/// A loopback HTTP server for the tests of this module and of [`http`].
#[cfg(test)]
pub(crate) mod test_server {
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    use reqwest::Url;

    /// What the handler answers: status, headers, body.
    pub struct Reply {
        pub status: u16,
        pub headers: Vec<(&'static str, String)>,
        pub body: Vec<u8>,
    }

    impl Reply {
        pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
            Self { status, headers: vec![("Content-Type", content_type.to_string())], body: body.into() }
        }
    }

    /// One request as the server saw it.
    #[derive(Clone, Debug)]
    pub struct Hit {
        pub path: String,
        pub headers: Vec<(String, String)>,
    }

    impl Hit {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    pub struct TestServer {
        pub url: Url,
        hits: Arc<Mutex<Vec<Hit>>>,
        server: Arc<tiny_http::Server>,
        thread: Option<JoinHandle<()>>,
    }

    impl TestServer {
        /// Serves on 127.0.0.1:<free port>; `handler` gets the path and how many requests for
        /// that path came before this one.
        pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + 'static) -> Self {
            let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
            let port = server.server_addr().to_ip().unwrap().port();
            let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
            let thread = {
                let (server, hits) = (Arc::clone(&server), Arc::clone(&hits));
                std::thread::spawn(move || {
                    for request in server.incoming_requests() {
                        let hit = Hit {
                            path: request.url().to_string(),
                            headers: request
                                .headers()
                                .iter()
                                .map(|h| (h.field.to_string(), h.value.to_string()))
                                .collect(),
                        };
                        let before = {
                            let mut hits = hits.lock().unwrap();
                            let before = hits.iter().filter(|h| h.path == hit.path).count();
                            hits.push(hit.clone());
                            before
                        };
                        let reply = handler(&hit.path, before);
                        let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
                        for (name, value) in reply.headers {
                            response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
                        }
                        let _ = request.respond(response);
                    }
                })
            };
            let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
            Self { url, hits, server, thread: Some(thread) }
        }

        pub fn hits(&self) -> Vec<Hit> {
            self.hits.lock().unwrap().clone()
        }
    }

    impl Drop for TestServer {
        fn drop(&mut self) {
            self.server.unblock();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use super::test_server::{Reply, TestServer};
    use super::*;
    use crate::index::http::HttpOptions;

    const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

    fn name(s: &str) -> PackageName {
        PackageName::from_str(s).unwrap()
    }

    fn http() -> HttpClient {
        HttpClient::new(HttpOptions { retries: 2, backoff: Duration::from_millis(1), ..HttpOptions::default() })
            .unwrap()
    }

    fn json_page(filename: &str) -> Reply {
        let body = format!(
            r#"{{"files": [{{"filename": "{filename}", "url": "{filename}", "hashes": {{"sha256": "aa"}}}}]}}"#
        );
        Reply::new(200, JSON_TYPE, body)
    }

    fn client(indexes: &[&TestServer], cache: Option<Cache>) -> IndexClient {
        let urls = indexes.iter().map(|s| s.url.join("simple").unwrap()).collect();
        IndexClient::new(http(), urls, cache)
    }

    #[test]
    fn fetches_the_normalised_page_with_the_accept_header() {
        let server = TestServer::start(|_, _| json_page("demo_pkg-1.0.tar.gz"));
        let project = client(&[&server], None).project(&name("Demo_Pkg")).unwrap();
        let hits = server.hits();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].path, "/simple/demo-pkg/");
        assert_eq!(hits[0].header("Accept"), Some(simple::ACCEPT));
        let file = project.files().next().unwrap();
        assert_eq!(file.url.as_str(), format!("{}simple/demo-pkg/demo_pkg-1.0.tar.gz", server.url));
    }

    #[test]
    fn best_match_merges_the_pages_of_all_indexes_in_order() {
        let primary = TestServer::start(|_, _| json_page("demo-1.0.tar.gz"));
        let missing = TestServer::start(|_, _| Reply::new(404, "text/html", "nope"));
        let extra = TestServer::start(|_, _| json_page("demo-2.0.tar.gz"));
        let project = client(&[&primary, &missing, &extra], None)
            .with_strategy(IndexStrategy::UnsafeBestMatch)
            .project(&name("demo"))
            .unwrap();
        let files: Vec<&str> = project.files().map(|f| f.filename.as_str()).collect();
        assert_eq!(files, ["demo-1.0.tar.gz", "demo-2.0.tar.gz"]);
        assert_eq!(project.pages.len(), 2);
        let shadowing: Vec<(String, String)> =
            project.shadowing().iter().map(|(url, v)| (url.to_string(), v.as_ref().unwrap().to_string())).collect();
        let urls = [&primary, &extra].map(|s| s.url.join("simple").unwrap().to_string());
        assert_eq!(shadowing, [(urls[0].clone(), "1.0".into()), (urls[1].clone(), "2.0".into())]);
        assert_eq!(project.index_rank(&Version::from_str("2.0").unwrap()), 0, "newest wins");
    }

    /// The default: later indexes are not asked for a name an earlier one has, unless surveyed
    /// (audit), and even then their pages are not used.
    #[test]
    fn first_index_takes_the_first_index_that_has_the_project() {
        let missing = TestServer::start(|_, _| Reply::new(404, "text/html", "nope"));
        let primary = TestServer::start(|_, _| json_page("demo-1.0.tar.gz"));
        let extra = TestServer::start(|_, _| json_page("demo-2.0.tar.gz"));
        let indexes = [&missing, &primary, &extra];
        let project = client(&indexes, None).project(&name("demo")).unwrap();
        let files: Vec<&str> = project.files().map(|f| f.filename.as_str()).collect();
        assert_eq!(files, ["demo-1.0.tar.gz"]);
        assert!(project.shadowing().is_empty());
        assert_eq!((missing.hits().len(), primary.hits().len(), extra.hits().len()), (1, 1, 0));

        let surveyed = client(&indexes, None);
        surveyed.survey_all_indexes();
        let project = surveyed.project(&name("demo")).unwrap();
        assert_eq!(project.files().map(|f| f.filename.as_str()).collect::<Vec<_>>(), ["demo-1.0.tar.gz"]);
        assert_eq!(project.shadowing().len(), 2);
        assert_eq!(extra.hits().len(), 1);
    }

    /// First match: a version comes from the first index listing it, and earlier indexes'
    /// versions rank first.
    #[test]
    fn first_match_takes_each_version_from_the_first_index_listing_it() {
        let primary = TestServer::start(|_, _| json_page("demo-1.0.tar.gz"));
        let extra = TestServer::start(|_, _| {
            let files = ["demo-1.0.zip", "demo-2.0.tar.gz"]
                .map(|f| format!("{{\"filename\": \"{f}\", \"url\": \"{f}\", \"hashes\": {{}}}}"));
            Reply::new(
                200,
                JSON_TYPE,
                format!("{{\"meta\": {{\"api-version\": \"1.1\"}}, \"files\": [{}]}}", files.join(",")),
            )
        });
        let project = client(&[&primary, &extra], None)
            .with_strategy(IndexStrategy::UnsafeFirstMatch)
            .project(&name("demo"))
            .unwrap();
        let files: Vec<&str> = project.files().map(|f| f.filename.as_str()).collect();
        assert_eq!(files, ["demo-1.0.tar.gz", "demo-2.0.tar.gz"]);
        let rank = |v: &str| project.index_rank(&Version::from_str(v).unwrap());
        assert_eq!((rank("1.0"), rank("2.0")), (0, 1));
    }

    #[test]
    fn not_found_on_any_index_lists_the_redacted_indexes() {
        let gone = TestServer::start(|_, _| Reply::new(410, "text/html", ""));
        let missing = TestServer::start(|_, _| Reply::new(404, "text/html", ""));
        let mut secret = gone.url.join("simple").unwrap();
        secret.set_username("token").unwrap();
        let client = IndexClient::new(http(), vec![secret, missing.url.join("simple").unwrap()], None);
        let error = client.project(&name("nothing")).unwrap_err();
        assert!(matches!(error, IndexError::NotFound { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("`nothing`") && message.contains("***@127.0.0.1"), "{message}");
        assert!(message.contains(missing.url.as_str()) && !message.contains("token"), "{message}");
    }

    #[test]
    fn garbage_is_a_bad_page_naming_the_url() {
        let server = TestServer::start(|_, _| Reply::new(200, JSON_TYPE, "this is not json"));
        let error = client(&[&server], None).project(&name("demo")).unwrap_err();
        assert!(matches!(error, IndexError::BadPage { .. }), "{error:?}");
        assert!(error.to_string().starts_with(&format!("{}simple/demo/: invalid JSON", server.url)), "{error}");
    }

    #[test]
    fn other_statuses_name_the_url_and_status() {
        let server = TestServer::start(|_, _| Reply::new(403, "text/html", "forbidden"));
        let error = client(&[&server], None).project(&name("demo")).unwrap_err();
        assert_eq!(error.to_string(), format!("{}simple/demo/: HTTP 403", server.url));
        assert_eq!(server.hits().len(), 1);
    }

    #[test]
    fn concurrent_callers_share_one_fetch() {
        let server = TestServer::start(|_, _| {
            std::thread::sleep(Duration::from_millis(200));
            json_page("demo-1.0.tar.gz")
        });
        let client = client(&[&server], None);
        let projects: Vec<Arc<Project>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| client.project(&name("demo")).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(server.hits().len(), 1);
        assert!(projects.iter().all(|p| Arc::ptr_eq(p, &projects[0])));
    }

    #[test]
    fn failures_are_remembered_for_later_callers_too() {
        let server = TestServer::start(|_, _| Reply::new(404, "text/html", ""));
        let client = client(&[&server], None);
        assert!(client.project(&name("demo")).is_err());
        assert!(matches!(client.project(&name("demo")), Err(IndexError::NotFound { .. })));
        assert_eq!(server.hits().len(), 1);
    }

    /// An entry an earlier hashlock wrote (format 6: the versions in the page's order) gives
    /// the same releases as one in order.
    #[test]
    fn a_page_cached_in_the_page_s_order_gives_the_same_releases() {
        let files = ["demo-10.0.tar.gz", "demo-2.0.tar.gz", "demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl"];
        let page = ProjectPage {
            name: name("demo"),
            url: Url::parse("http://127.0.0.1:9/simple/demo/").unwrap(),
            format: PageFormat::Json,
            files: files.iter().map(|f| crate::resolve::candidates::tests::file(f, None, false)).collect(),
        };
        let in_order = page_file::encode(0, None, &page);
        let old = page_file::tests::as_format_6_newest_first(&in_order);
        assert!(old.starts_with("hashlock page 6\n") && old.find("10.0") < old.find("2.0"), "{old}");
        let releases = |text: String| {
            let cached = page_file::decode(text).unwrap().page;
            let project = Project::of_pages(name("demo"), vec![cached], vec![page.url.clone()]);
            let position = project.release_position(&Version::from_str("2.0").unwrap());
            let listed: Vec<(String, Vec<String>)> = project
                .releases()
                .map(|(v, release)| (v.to_string(), release.files().map(|f| f.filename.clone()).collect()))
                .collect();
            (listed, position)
        };
        let expected = vec![
            ("1.0".to_string(), vec!["demo-1.0.tar.gz".to_string(), "demo-1.0-py3-none-any.whl".to_string()]),
            ("2.0".to_string(), vec!["demo-2.0.tar.gz".to_string()]),
            ("10.0".to_string(), vec!["demo-10.0.tar.gz".to_string()]),
        ];
        assert_eq!(releases(in_order), (expected.clone(), Some(1)));
        assert_eq!(releases(old), (expected, Some(1)));
    }

    #[test]
    fn pages_go_through_the_cache() {
        let server = TestServer::start(|path, _| {
            let mut reply = json_page("demo-1.0.tar.gz");
            if path.contains("nostore") {
                reply.headers.push(("Cache-Control", "no-store".into()));
            }
            reply
        });
        let dir = tempfile::tempdir().unwrap();
        let with = |freshness| client(&[&server], Some(Cache::new(dir.path().to_path_buf(), freshness)));

        let first = with(Freshness::Normal).project(&name("demo")).unwrap();
        // A new process: the fresh entry is used without a request.
        let cached = with(Freshness::Normal).project(&name("demo")).unwrap();
        let files = |project: &Project| project.files().cloned().collect::<Vec<_>>();
        assert_eq!(files(&cached), files(&first));
        assert_eq!(server.hits().len(), 1);
        // --refresh fetches again; --offline uses the entry.
        with(Freshness::Refresh).project(&name("demo")).unwrap();
        assert_eq!(server.hits().len(), 2);
        assert_eq!(files(&with(Freshness::Offline).project(&name("demo")).unwrap()), files(&first));
        assert_eq!(server.hits().len(), 2);

        // --offline without an entry names the project and sends nothing.
        let error = with(Freshness::Offline).project(&name("absent")).unwrap_err();
        assert!(matches!(&error, IndexError::Offline(m) if m.contains("`absent`")), "{error:?}");
        assert_eq!(server.hits().len(), 2);

        // no-store: never written, so fetched every time.
        with(Freshness::Normal).project(&name("nostore")).unwrap();
        with(Freshness::Normal).project(&name("nostore")).unwrap();
        assert_eq!(server.hits().len(), 4);
    }

    #[test]
    fn offline_without_cache_is_an_offline_error() {
        let server = TestServer::start(|_, _| json_page("demo-1.0.tar.gz"));
        let http = HttpClient::new(HttpOptions { offline: true, ..HttpOptions::default() }).unwrap();
        let client = IndexClient::new(http, vec![server.url.clone()], None);
        assert!(matches!(client.project(&name("demo")), Err(IndexError::Offline(_))));
        assert!(server.hits().is_empty());
    }

    #[test]
    fn page_url_adds_the_slash() {
        let with_slash = Url::parse("https://index.example/simple/").unwrap();
        let without = Url::parse("https://index.example/simple?x=1").unwrap();
        assert_eq!(page_url(&with_slash, &name("A_B")).as_str(), "https://index.example/simple/a-b/");
        assert_eq!(page_url(&without, &name("a")).as_str(), "https://index.example/simple/a/");
    }
}
