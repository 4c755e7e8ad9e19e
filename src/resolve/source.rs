//! [`IndexSource`]: the real [`Source`](super::Source): pages and metadata from the index,
//! each fetched once, on a rayon pool sized for I/O, with prefetching.
//!
//! Fetches borrow the [`IndexClient`], so none may outlive a call into the source. Prefetch
//! hints are therefore queued, and the next call that has to wait for the network runs the
//! whole queue together with its own fetch on the pool (a rayon scope), returning when all
//! are done. Within that run, each page that arrives adds the metadata fetch of its likely
//! pick. The resolver hints a version's dependencies as soon as it has read its metadata, so it
//! waits about once per level of the dependency tree, with that level's fetches in flight
//! together.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use rayon::{Scope, ThreadPool, ThreadPoolBuilder};

use super::candidates::{candidates, likely_pick, metadata_file};
use crate::dist::{DistFile, DistFilename};
use crate::index::{IndexClient, IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::resolve::Source;
use crate::target::Target;

/// The two fetches [`IndexSource`] schedules; [`IndexClient`] does them for real.
pub trait Fetch: Sync {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError>;
    fn metadata(&self, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError>;
}

impl Fetch for IndexClient {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        IndexClient::project(self, name)
    }

    fn metadata(&self, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
        crate::metadata::fetch(self, file, filename)
    }
}

/// One fetch's result, shared by everyone who asks for it; the first asker fetches.
type Shared<T, E> = Arc<OnceLock<Result<Arc<T>, E>>>;

enum Job {
    Page(PackageName),
    Metadata(Box<MetadataJob>),
}

struct MetadataJob {
    key: (PackageName, Version),
    file: DistFile,
    filename: DistFilename,
}

impl Job {
    fn metadata(key: (PackageName, Version), file: &DistFile, filename: DistFilename) -> Self {
        Self::Metadata(Box::new(MetadataJob { key, file: file.clone(), filename }))
    }
}

pub struct IndexSource<'a, F: Fetch + ?Sized = IndexClient> {
    client: &'a F,
    target: Target,
    /// `None` if the threads could not be started: rayon's global pool stands in.
    pool: Option<ThreadPool>,
    pages: Mutex<HashMap<PackageName, Shared<Project, IndexError>>>,
    metadata: Mutex<HashMap<(PackageName, Version), Shared<Metadata, MetadataError>>>,
    /// Prefetch hints waiting for the next run.
    queue: Mutex<Vec<Job>>,
    in_flight: AtomicUsize,
}

impl<'a, F: Fetch + ?Sized> IndexSource<'a, F> {
    /// `jobs`: requests in flight at most.
    pub fn new(client: &'a F, target: Target, jobs: usize) -> Self {
        let pool = ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .thread_name(|i| format!("hashlock-fetch-{i}"))
            .build()
            .ok();
        Self {
            client,
            target,
            pool,
            pages: Mutex::default(),
            metadata: Mutex::default(),
            queue: Mutex::default(),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// One line for the progress display.
    pub fn status(&self) -> String {
        let pages = lock(&self.pages).values().filter(|cell| cell.get().is_some()).count();
        format!("{pages} packages, {} requests in flight", self.in_flight.load(Ordering::Relaxed))
    }

    /// Runs `first` and every queued hint on the pool; returns when all (and what they add) are done.
    fn run(&self, first: Job) {
        let mut jobs = std::mem::take(&mut *lock(&self.queue));
        jobs.insert(0, first);
        match &self.pool {
            Some(pool) => pool.in_place_scope(|scope| jobs.into_iter().for_each(|job| self.spawn(scope, job))),
            None => rayon::in_place_scope(|scope| jobs.into_iter().for_each(|job| self.spawn(scope, job))),
        }
    }

    fn spawn<'s>(&'s self, scope: &Scope<'s>, job: Job) {
        scope.spawn(move |scope| self.execute(scope, job));
    }

    fn execute<'s>(&'s self, scope: &Scope<'s>, job: Job) {
        match job {
            Job::Page(name) => {
                let mut fetched = false;
                let shared = cell(&self.pages, &name);
                let result = shared.get_or_init(|| {
                    fetched = true;
                    self.counted(|| self.client.project(&name))
                });
                if let (true, Ok(project)) = (fetched, result) {
                    let likely = likely_pick(&candidates(project, &self.target)).map(|c| c.version.clone());
                    if let Some(job) = likely.and_then(|version| self.claim_metadata(project, &version)) {
                        self.spawn(scope, job);
                    }
                }
            }
            Job::Metadata(job) => {
                let MetadataJob { key, file, filename } = *job;
                cell(&self.metadata, &key)
                    .get_or_init(|| self.counted(|| self.client.metadata(&file, &filename).map(Arc::new)));
            }
        }
    }

    /// A metadata job for `version`, unless one was already made.
    fn claim_metadata(&self, project: &Project, version: &Version) -> Option<Job> {
        let key = (project.name.clone(), version.clone());
        {
            let mut claimed = lock(&self.metadata);
            if claimed.contains_key(&key) {
                return None;
            }
            claimed.insert(key.clone(), Arc::default());
        }
        let (file, filename) = metadata_file(project, version, &self.target)?;
        Some(Job::metadata(key, file, filename))
    }

    fn counted<T>(&self, fetch: impl FnOnce() -> T) -> T {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _done = Decrement(&self.in_flight);
        fetch()
    }
}

/// Decrements the in-flight count when a fetch ends, even by a panic.
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shared cell for `key`, created empty if new.
fn cell<K: Hash + Eq + Clone, V>(map: &Mutex<HashMap<K, Arc<OnceLock<V>>>>, key: &K) -> Arc<OnceLock<V>> {
    lock(map).entry(key.clone()).or_default().clone()
}

impl<F: Fetch + ?Sized> Source for IndexSource<'_, F> {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        let shared = cell(&self.pages, name);
        if shared.get().is_none() {
            self.run(Job::Page(name.clone()));
        }
        match shared.get_or_init(|| self.counted(|| self.client.project(name))) {
            Ok(project) => Ok(project.clone()),
            Err(error) => Err(error.clone()),
        }
    }

    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError> {
        let key = (project.name.clone(), version.clone());
        let shared = cell(&self.metadata, &key);
        if shared.get().is_none()
            && let Some((file, filename)) = metadata_file(project, version, &self.target)
        {
            self.run(Job::metadata(key, file, filename));
        }
        let no_file = || MetadataError::Invalid {
            filename: format!("{} {version}", project.name),
            message: "the index lists no file of this version".into(),
        };
        match shared.get_or_init(|| Err(no_file())) {
            Ok(metadata) => Ok(metadata.clone()),
            Err(error) => Err(error.clone()),
        }
    }

    fn prefetch_project(&self, name: &PackageName) {
        let mut pages = lock(&self.pages);
        if !pages.contains_key(name) {
            pages.insert(name.clone(), Arc::default());
            lock(&self.queue).push(Job::Page(name.clone()));
        }
    }

    fn prefetch_metadata(&self, project: &Arc<Project>, version: &Version) {
        if let Some(job) = self.claim_metadata(project, version) {
            lock(&self.queue).push(job);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::time::Duration;

    use super::*;
    use crate::resolve::candidates::tests::{file, project};

    /// Serves fixed projects, counting fetches and how many run at once.
    #[derive(Default)]
    struct CountingFetch {
        projects: HashMap<PackageName, Arc<Project>>,
        page_fetches: Mutex<Vec<String>>,
        metadata_fetches: Mutex<Vec<String>>,
        running: AtomicUsize,
        most_at_once: AtomicUsize,
    }

    impl CountingFetch {
        fn with(projects: Vec<Project>) -> Self {
            Self { projects: projects.into_iter().map(|p| (p.name.clone(), Arc::new(p))).collect(), ..Self::default() }
        }

        fn busy(&self) {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(30));
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Fetch for CountingFetch {
        fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
            self.busy();
            lock(&self.page_fetches).push(name.to_string());
            self.projects
                .get(name)
                .cloned()
                .ok_or_else(|| IndexError::NotFound { name: name.clone(), indexes: "the test index".into() })
        }

        fn metadata(&self, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
            self.busy();
            lock(&self.metadata_fetches).push(file.filename.clone());
            Ok(Metadata {
                name: filename.name().clone(),
                version: filename.version().clone(),
                requires_dist: Vec::new(),
                requires_python: None,
                provides_extra: Vec::new(),
                metadata_version: "2.1".into(),
                dynamic: Vec::new(),
            })
        }
    }

    fn name(text: &str) -> PackageName {
        PackageName::from_str(text).expect("name")
    }

    fn linux() -> Target {
        Target::from_options(Some("3.11"), Some("linux")).expect("target")
    }

    fn simple(package: &str) -> Project {
        project(package, vec![file(&format!("{package}-1.0-py3-none-any.whl"), None, false)])
    }

    #[test]
    fn prefetch_hints_run_together_with_the_next_wait() {
        let fetch = CountingFetch::with(["a", "b", "c", "d"].map(simple).into());
        let source = IndexSource::new(&fetch, linux(), 4);
        for package in ["b", "c", "d", "b"] {
            source.prefetch_project(&name(package));
        }
        assert!(lock(&fetch.page_fetches).is_empty(), "hints alone fetch nothing");
        source.project(&name("a")).expect("a");
        let mut pages = lock(&fetch.page_fetches).clone();
        pages.sort();
        assert_eq!(pages, ["a", "b", "c", "d"], "one run fetched the page asked for and every hinted one, once");
        assert_eq!(lock(&fetch.metadata_fetches).len(), 4, "each page brought its likely pick's metadata");
        assert!(fetch.most_at_once.load(Ordering::SeqCst) >= 2, "fetches overlap on the pool");
        assert_eq!(source.status(), "4 packages, 0 requests in flight");

        let c = source.project(&name("c")).expect("c");
        let metadata = source.metadata(&c, &Version::new([1, 0])).expect("metadata");
        assert_eq!(metadata.name, name("c"));
        assert_eq!(lock(&fetch.page_fetches).len(), 4, "pages are memoised");
        assert_eq!(lock(&fetch.metadata_fetches).len(), 4, "metadata is memoised");
    }

    #[test]
    fn the_resolver_runs_over_it() {
        let fetch = CountingFetch::with(vec![simple("a")]);
        let source = IndexSource::new(&fetch, linux(), 2);
        let root = [crate::resolve::RootRequirement {
            requirement: pep508_rs::Requirement::from_str("a").expect("requirement"),
            origin: String::new(),
        }];
        let resolution = crate::resolve::resolve(&source, &root, &[], &linux(), &Default::default()).expect("resolves");
        assert_eq!(resolution.packages[&name("a")].version, Version::new([1, 0]));
        assert_eq!(lock(&fetch.metadata_fetches).len(), 1);
    }

    #[test]
    fn likely_pick_skips_prereleases_yanked_and_other_pythons() {
        let files = vec![
            file("lib-4.0b1-py3-none-any.whl", None, false),
            file("lib-3.0-py3-none-any.whl", None, true),
            file("lib-2.5-py3-none-any.whl", Some(">=3.12"), false),
            file("lib-2.0-py3-none-any.whl", None, false),
        ];
        let fetch = CountingFetch::with(vec![project("lib", files)]);
        let source = IndexSource::new(&fetch, linux(), 2);
        source.project(&name("lib")).expect("lib");
        assert_eq!(*lock(&fetch.metadata_fetches), ["lib-2.0-py3-none-any.whl"]);
    }

    #[test]
    fn metadata_reads_the_targets_wheel_and_failures_are_shared() {
        let files = vec![
            file("lib-1.0.tar.gz", None, false),
            file("lib-1.0-cp311-cp311-win_amd64.whl", None, false),
            file("lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", None, false),
        ];
        let fetch = CountingFetch::with(vec![project("lib", files)]);
        let source = IndexSource::new(&fetch, linux(), 2);
        let lib = source.project(&name("lib")).expect("lib");
        source.metadata(&lib, &Version::new([1, 0])).expect("metadata");
        assert_eq!(*lock(&fetch.metadata_fetches), ["lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"]);

        let missing = source.metadata(&lib, &Version::new([9]));
        assert!(matches!(missing, Err(MetadataError::Invalid { .. })), "{missing:?}");
        for _ in 0..2 {
            let error = source.project(&name("nothere")).expect_err("not found");
            assert!(matches!(error, IndexError::NotFound { .. }), "{error}");
        }
        assert_eq!(lock(&fetch.page_fetches).iter().filter(|p| *p == "nothere").count(), 1);
    }
}
