//! [`IndexSource`]: the real [`Source`](super::Source): pages, metadata and files' provenance
//! from the index, each fetched once, on a rayon pool of `jobs` threads, with a speculative walk
//! ahead of the resolver.
//!
//! The source owns its state behind an [`Arc`], so fetches run in the background: a prefetch
//! hint starts its fetch at once. Each page that arrives starts the metadata fetch of its
//! likely pick, and each metadata that arrives starts the page fetches of its dependencies
//! (those whose markers hold for the target, with the extras that led there). The walk thus
//! costs about two round trips per level of the dependency tree, whether or not the resolver
//! has got there yet. A blocking call fetches on the caller's thread unless a fetch of the same
//! thing is already running, in which case it waits for that one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName, Requirement, VersionOrUrl};
use pubgrub::Ranges;
use rayon::{ThreadPool, ThreadPoolBuilder};

use super::candidates::{Candidates, likely_pick, metadata_file};
use crate::dist::{DistFile, DistFilename};
use crate::index::provenance::Fetched;
use crate::index::{IndexClient, IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::output::count;
use crate::resolve::Source;
use crate::target::Target;

/// The fetches [`IndexSource`] schedules; [`IndexClient`] does them for real.
pub trait Fetch: Send + Sync {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError>;
    fn metadata(&self, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError>;
    fn provenance(&self, file: &DistFile) -> Fetched;
}

impl Fetch for IndexClient {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        IndexClient::project(self, name)
    }

    fn metadata(&self, file: &DistFile, filename: &DistFilename) -> Result<Metadata, MetadataError> {
        crate::metadata::fetch(self, file, filename)
    }

    fn provenance(&self, file: &DistFile) -> Fetched {
        crate::index::provenance::fetch(self, file)
    }
}

/// One fetch's result, shared by everyone who asks for it; the first asker fetches.
type Shared<T, E> = Arc<OnceLock<Result<Arc<T>, E>>>;

/// How long the resolver waited for the source: the time on the critical path that is network
/// (or disk), not computation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Blocking calls that found their page or metadata not there yet.
    pub waits: u64,
    pub waited: Duration,
}

pub struct IndexSource<F: Fetch + ?Sized + 'static = IndexClient> {
    state: Arc<State<F>>,
}

struct State<F: ?Sized> {
    client: Arc<F>,
    target: Target,
    env: MarkerEnvironment,
    /// `None` if the threads could not be started: rayon's global pool stands in.
    pool: Option<ThreadPool>,
    pages: Mutex<HashMap<PackageName, Shared<Project, IndexError>>>,
    /// Candidates of each project for `target`: the walk and the resolver both ask, often
    /// several times, and a project can list thousands of files.
    candidates: Mutex<HashMap<PackageName, Arc<Candidates>>>,
    metadata: Mutex<HashMap<(PackageName, Version), Shared<Metadata, MetadataError>>>,
    /// Files' provenance, by the URL their page lists.
    provenance: Mutex<HashMap<String, Arc<OnceLock<Fetched>>>>,
    /// Wants the walk has acted on, by project.
    wanted: Mutex<HashMap<PackageName, Vec<Want>>>,
    in_flight: AtomicUsize,
    /// Background jobs started and not yet finished.
    pending: AtomicUsize,
    waits: AtomicU64,
    waited_nanos: AtomicU64,
}

enum Job {
    /// The page, then the metadata of the version `want` would likely pick.
    Page {
        name: PackageName,
        want: Want,
    },
    Metadata(Box<MetadataJob>),
    Provenance(Box<DistFile>),
}

/// What a requirement met on the walk asks of a project: the versions its specifiers allow
/// (so a pinned dependency prefetches the pinned version, not the newest) and the extras whose
/// dependencies the walk follows.
#[derive(Clone, PartialEq)]
struct Want {
    range: Ranges<Version>,
    extras: Vec<ExtraName>,
}

impl Want {
    fn of(requirement: &Requirement) -> Self {
        let range = match &requirement.version_or_url {
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => Ranges::from(specifiers.clone()),
            _ => Ranges::full(),
        };
        Self { range, extras: requirement.extras.clone() }
    }
}

impl Default for Want {
    /// Any version, no extras.
    fn default() -> Self {
        Self { range: Ranges::full(), extras: Vec::new() }
    }
}

struct MetadataJob {
    key: (PackageName, Version),
    file: DistFile,
    filename: DistFilename,
    extras: Vec<ExtraName>,
}

impl<F: Fetch + ?Sized + 'static> IndexSource<F> {
    /// `jobs`: background fetches at most (the resolver's own thread may add one).
    pub fn new(client: Arc<F>, target: Target, jobs: usize) -> Self {
        let pool = ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .thread_name(|i| format!("hashlock-fetch-{i}"))
            .build()
            .ok();
        let env = target.marker_environment();
        Self {
            state: Arc::new(State {
                client,
                target,
                env,
                pool,
                pages: Mutex::default(),
                candidates: Mutex::default(),
                metadata: Mutex::default(),
                provenance: Mutex::default(),
                wanted: Mutex::default(),
                in_flight: AtomicUsize::new(0),
                pending: AtomicUsize::new(0),
                waits: AtomicU64::new(0),
                waited_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// One line for the progress display.
    pub fn status(&self) -> String {
        let pages = lock(&self.state.pages).values().filter(|cell| cell.get().is_some()).count();
        let in_flight = self.state.in_flight.load(Ordering::Relaxed) as u64;
        format!("{}, {} in flight", count(pages as u64, "package", "packages"), count(in_flight, "request", "requests"))
    }

    pub fn stats(&self) -> SourceStats {
        SourceStats {
            waits: self.state.waits.load(Ordering::Relaxed),
            waited: Duration::from_nanos(self.state.waited_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Runs `get` for the resolver, which waits meanwhile: timed as time on the critical path.
    fn wait<T>(&self, get: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = get();
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.state.waits.fetch_add(1, Ordering::Relaxed);
        self.state.waited_nanos.fetch_add(nanos, Ordering::Relaxed);
        result
    }
}

impl<F: Fetch + ?Sized + 'static> State<F> {
    fn spawn(self: &Arc<Self>, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(self);
        let run = move || {
            let _done = Decrement(&state.pending);
            match job {
                Job::Page { name, want } => {
                    if let Ok(project) = state.page(&name) {
                        let version = state.pick(&name, &want, &state.candidates(&project, &state.target));
                        if let Some(job) = version.and_then(|v| state.claim_metadata(&project, &v, &want.extras)) {
                            state.spawn(job);
                        }
                    }
                }
                Job::Metadata(job) => drop(state.metadata(&job)),
                Job::Provenance(file) => drop(state.provenance(&file)),
            }
        };
        // First in, first out: the walk goes level by level, as the resolver decides, instead
        // of deep into the first dependency's subtree while the resolver waits on the second.
        match &self.pool {
            Some(pool) => pool.spawn_fifo(run),
            None => rayon::spawn_fifo(run),
        }
    }

    /// The candidates of `project` for `target`, remembered for the source's own target.
    fn candidates(&self, project: &Arc<Project>, target: &Target) -> Arc<Candidates> {
        if *target != self.target {
            return Arc::new(Candidates::new(Arc::clone(project), target));
        }
        if let Some(found) = lock(&self.candidates).get(&project.name) {
            return Arc::clone(found);
        }
        let found = Arc::new(Candidates::new(Arc::clone(project), target));
        lock(&self.candidates).insert(project.name.clone(), Arc::clone(&found));
        found
    }

    /// The page, fetched here unless it is already there or being fetched.
    fn page(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        cell(&self.pages, name).get_or_init(|| self.counted(|| self.client.project(name))).clone()
    }

    /// The metadata, fetched here unless it is already there or being fetched; the first fetch
    /// starts the page fetches of the dependencies the target (and `job.extras`) activate.
    fn metadata(self: &Arc<Self>, job: &MetadataJob) -> Result<Arc<Metadata>, MetadataError> {
        let mut fetched = false;
        let shared = cell(&self.metadata, &job.key);
        let result = shared.get_or_init(|| {
            fetched = true;
            self.counted(|| self.client.metadata(&job.file, &job.filename).map(Arc::new))
        });
        if let (true, Ok(metadata)) = (fetched, result) {
            for requirement in metadata.requires_dist.iter().filter(|r| r.evaluate_markers(&self.env, &job.extras)) {
                self.walk(&requirement.name, Want::of(requirement));
            }
        }
        result.clone()
    }

    /// The file's provenance, fetched here unless it is already there or being fetched.
    fn provenance(&self, file: &DistFile) -> Fetched {
        let Some(url) = &file.provenance else { return Ok(None) };
        cell(&self.provenance, url).get_or_init(|| self.counted(|| self.client.provenance(file))).clone()
    }

    /// Follows a requirement met on the walk, once per project and want.
    fn walk(self: &Arc<Self>, name: &PackageName, want: Want) {
        claim(&self.pages, name);
        {
            let mut wanted = lock(&self.wanted);
            let seen = wanted.entry(name.clone()).or_default();
            if seen.contains(&want) {
                return;
            }
            seen.push(want.clone());
        }
        self.spawn(Job::Page { name: name.clone(), want });
    }

    /// The version `want` likely leads to: one that every want of the project met so far
    /// admits, where there is one (a dependency pinned by one parent and left open by another
    /// is read once, at the pin), else the newest `want` admits.
    fn pick(&self, name: &PackageName, want: &Want, candidates: &Candidates) -> Option<Version> {
        let every = lock(&self.wanted)
            .get(name)
            .into_iter()
            .flatten()
            .fold(Ranges::full(), |every, seen| every.intersection(&seen.range));
        likely_pick(candidates, &every).or_else(|| likely_pick(candidates, &want.range))
    }

    /// A metadata job for `version`, unless one was already made.
    fn claim_metadata(&self, project: &Project, version: &Version, extras: &[ExtraName]) -> Option<Job> {
        let key = (project.name.clone(), version.clone());
        if !claim(&self.metadata, &key) {
            return None;
        }
        let (file, filename) = self.metadata_file(project, version)?;
        Some(Job::Metadata(Box::new(MetadataJob { key, file, filename, extras: extras.to_vec() })))
    }

    /// [`metadata_file`], from the project's candidates' judgement where the target's are known.
    fn metadata_file(&self, project: &Project, version: &Version) -> Option<(DistFile, DistFilename)> {
        let candidates = lock(&self.candidates).get(&project.name).cloned();
        let chosen = match &candidates {
            Some(candidates) => candidates.metadata_file(version),
            None => metadata_file(project, version, &self.target),
        };
        chosen.map(|(file, filename)| (file.clone(), filename))
    }

    fn counted<T>(&self, fetch: impl FnOnce() -> T) -> T {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _done = Decrement(&self.in_flight);
        fetch()
    }
}

/// Decrements a count when a fetch or job ends, even by a panic.
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The shared cell for `key`, created empty if new.
fn cell<K: Hash + Eq + Clone, V>(map: &Mutex<HashMap<K, Arc<OnceLock<V>>>>, key: &K) -> Arc<OnceLock<V>> {
    lock(map).entry(key.clone()).or_default().clone()
}

/// Creates the empty cell for `key`; false if there already was one (someone else fetches it).
fn claim<K: Hash + Eq + Clone, V>(map: &Mutex<HashMap<K, Arc<OnceLock<V>>>>, key: &K) -> bool {
    let mut map = lock(map);
    if map.contains_key(key) {
        return false;
    }
    map.insert(key.clone(), Arc::default());
    true
}

/// What is already in `key`'s cell, if anything.
fn done<K: Hash + Eq, T, E: Clone>(map: &Mutex<HashMap<K, Shared<T, E>>>, key: &K) -> Option<Result<Arc<T>, E>> {
    lock(map).get(key).and_then(|cell| cell.get().cloned())
}

impl<F: Fetch + ?Sized + 'static> Source for IndexSource<F> {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        done(&self.state.pages, name).unwrap_or_else(|| self.wait(|| self.state.page(name)))
    }

    fn candidates(&self, project: &Arc<Project>, target: &Target) -> Arc<Candidates> {
        self.state.candidates(project, target)
    }

    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError> {
        let key = (project.name.clone(), version.clone());
        if let Some(result) = done(&self.state.metadata, &key) {
            return result;
        }
        match self.state.metadata_file(project, version) {
            Some((file, filename)) => {
                self.wait(|| self.state.metadata(&MetadataJob { key, file, filename, extras: Vec::new() }))
            }
            None => Err(MetadataError::Invalid {
                filename: format!("{} {version}", project.name),
                message: "the index lists no file of this version".into(),
            }),
        }
    }

    /// Acted on only for a project nothing has asked for yet: the walk, knowing the
    /// requirement's specifiers, usually got there first and picked better.
    fn prefetch_project(&self, name: &PackageName) {
        if !lock(&self.state.pages).contains_key(name) {
            self.state.walk(name, Want::default());
        }
    }

    fn prefetch_metadata(&self, project: &Arc<Project>, version: &Version) {
        if let Some(job) = self.state.claim_metadata(project, version, &[]) {
            self.state.spawn(job);
        }
    }

    fn provenance(&self, file: &DistFile) -> Fetched {
        let Some(url) = &file.provenance else { return Ok(None) };
        let fetched = lock(&self.state.provenance).get(url).and_then(|cell| cell.get().cloned());
        fetched.unwrap_or_else(|| self.wait(|| self.state.provenance(file)))
    }

    fn prefetch_provenance(&self, file: &DistFile) {
        if let Some(url) = &file.provenance
            && claim(&self.state.provenance, url)
        {
            self.state.spawn(Job::Provenance(Box::new(file.clone())));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::resolve::candidates::tests::{file, project};

    /// Serves fixed projects, counting fetches and how many run at once. `requires`: the
    /// `Requires-Dist` lines of a file's metadata, by filename.
    #[derive(Default)]
    struct CountingFetch {
        projects: HashMap<PackageName, Arc<Project>>,
        requires: HashMap<String, Vec<&'static str>>,
        page_fetches: Mutex<Vec<String>>,
        metadata_fetches: Mutex<Vec<String>>,
        provenance_fetches: Mutex<Vec<String>>,
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

        fn pages(&self) -> Vec<String> {
            let mut pages = lock(&self.page_fetches).clone();
            pages.sort();
            pages
        }

        fn metadata(&self) -> Vec<String> {
            let mut files = lock(&self.metadata_fetches).clone();
            files.sort();
            files
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
            let requires = self.requires.get(&file.filename).map(Vec::as_slice).unwrap_or_default();
            Ok(Metadata {
                name: filename.name().clone(),
                version: filename.version().clone(),
                requires_dist: requires.iter().map(|r| Requirement::from_str(r).expect("requirement")).collect(),
                requires_python: None,
                provides_extra: Vec::new(),
                metadata_version: "2.1".into(),
                dynamic: Vec::new(),
            })
        }

        fn provenance(&self, file: &DistFile) -> Fetched {
            self.busy();
            lock(&self.provenance_fetches).push(file.filename.clone());
            Ok(None)
        }
    }

    fn name(text: &str) -> PackageName {
        PackageName::from_str(text).expect("name")
    }

    fn linux() -> Target {
        Target::from_options(Some("3.11"), Some("linux")).expect("target")
    }

    fn wheel(package: &str, version: &str) -> DistFile {
        file(&format!("{package}-{version}-py3-none-any.whl"), None, false)
    }

    fn simple(package: &str) -> Project {
        project(package, vec![wheel(package, "1.0")])
    }

    /// Waits until no background job is left (the walk has nowhere further to go).
    fn settle<F: Fetch + 'static>(source: &IndexSource<F>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while source.state.pending.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < deadline, "background jobs never finished");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn hints_fetch_in_the_background_once_each() {
        let fetch = Arc::new(CountingFetch::with(["a", "b", "c"].map(simple).into()));
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 4);
        for package in ["a", "b", "c", "b"] {
            source.prefetch_project(&name(package));
        }
        settle(&source);
        assert_eq!(fetch.pages(), ["a", "b", "c"], "every hinted page, once, without a blocking call");
        assert_eq!(fetch.metadata().len(), 3, "each page brought its likely pick's metadata");
        assert!(fetch.most_at_once.load(Ordering::SeqCst) >= 2, "fetches overlap on the pool");
        assert_eq!(source.status(), "3 packages, 0 requests in flight");

        let c = source.project(&name("c")).expect("c");
        let metadata = source.metadata(&c, &Version::new([1, 0])).expect("metadata");
        assert_eq!(metadata.name, name("c"));
        assert_eq!((fetch.pages().len(), fetch.metadata().len()), (3, 3), "pages and metadata are memoised");
        assert_eq!(source.stats(), SourceStats::default(), "prefetched answers cost the resolver no wait");
    }

    #[test]
    fn provenance_is_fetched_on_the_pool_once_per_listed_url() {
        let fetch = Arc::new(CountingFetch::default());
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 4);
        let listed = |filename: &str| DistFile {
            provenance: Some(format!("http://127.0.0.1/files/{filename}.provenance")),
            ..wheel(filename, "1.0")
        };
        let files = [listed("a"), listed("b"), listed("c"), wheel("unlisted", "1.0")];
        for file in files.iter().chain(&files) {
            source.prefetch_provenance(file);
        }
        settle(&source);
        let mut fetched = lock(&fetch.provenance_fetches).clone();
        fetched.sort();
        let expected = ["a-1.0-py3-none-any.whl", "b-1.0-py3-none-any.whl", "c-1.0-py3-none-any.whl"];
        assert_eq!(fetched, expected, "each listed URL once; a file that lists none costs nothing");
        assert!(fetch.most_at_once.load(Ordering::SeqCst) >= 2, "fetches overlap on the pool");
        for file in &files {
            assert!(matches!(source.provenance(file), Ok(None)));
        }
        assert_eq!(lock(&fetch.provenance_fetches).len(), 3, "answers are memoised");
        assert_eq!(source.stats(), SourceStats::default(), "prefetched answers cost no wait");
    }

    #[test]
    fn the_walk_follows_active_dependencies_at_their_pinned_versions() {
        let projects = vec![
            simple("app"),
            project("lib", vec![wheel("lib", "1.0"), wheel("lib", "2.0")]),
            simple("leaf"),
            simple("turbo"),
            simple("winonly"),
            simple("optional"),
        ];
        let mut fetch = CountingFetch::with(projects);
        fetch.requires = HashMap::from([
            (
                "app-1.0-py3-none-any.whl".to_string(),
                vec!["lib==1.0", "winonly; sys_platform == 'win32'", "optional; extra == 'more'"],
            ),
            ("lib-1.0-py3-none-any.whl".to_string(), vec!["leaf[fast]"]),
            ("leaf-1.0-py3-none-any.whl".to_string(), vec!["turbo; extra == 'fast'"]),
        ]);
        let fetch = Arc::new(fetch);
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 4);
        source.prefetch_project(&name("app"));
        settle(&source);
        assert_eq!(fetch.pages(), ["app", "leaf", "lib", "turbo"], "inactive markers are not followed");
        assert_eq!(
            fetch.metadata(),
            [
                "app-1.0-py3-none-any.whl",
                "leaf-1.0-py3-none-any.whl",
                "lib-1.0-py3-none-any.whl",
                "turbo-1.0-py3-none-any.whl"
            ],
            "the pinned lib 1.0, not the newest; the extra's dependency too"
        );
    }

    #[test]
    fn a_dependency_pinned_by_one_parent_and_open_to_another_is_read_at_the_pin_only() {
        let projects =
            vec![simple("app"), simple("mid"), project("lib", vec![wheel("lib", "1.0"), wheel("lib", "2.0")])];
        let mut fetch = CountingFetch::with(projects);
        fetch.requires = HashMap::from([
            ("app-1.0-py3-none-any.whl".to_string(), vec!["lib==1.0", "mid"]),
            ("mid-1.0-py3-none-any.whl".to_string(), vec!["lib>=1.0"]),
        ]);
        let fetch = Arc::new(fetch);
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 4);
        source.prefetch_project(&name("app"));
        settle(&source);
        assert_eq!(
            fetch.metadata(),
            ["app-1.0-py3-none-any.whl", "lib-1.0-py3-none-any.whl", "mid-1.0-py3-none-any.whl"],
            "mid's `lib>=1.0` leads to the 1.0 app pins, not to 2.0, which the resolver would never read"
        );
    }

    #[test]
    fn the_resolver_runs_over_it_and_its_waits_are_timed() {
        let fetch = Arc::new(CountingFetch::with(vec![simple("a")]));
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 2);
        let root = [crate::resolve::RootRequirement {
            requirement: Requirement::from_str("a").expect("requirement"),
            origin: String::new(),
        }];
        let resolution = crate::resolve::resolve(&source, &root, &[], &linux(), &Default::default()).expect("resolves");
        assert_eq!(resolution.packages[&name("a")].version, Version::new([1, 0]));
        assert_eq!(fetch.metadata().len(), 1);
        let stats = source.stats();
        assert!(stats.waits >= 1 && stats.waited >= Duration::from_millis(30), "{stats:?}");
    }

    #[test]
    fn likely_pick_skips_prereleases_yanked_and_other_pythons() {
        let files = vec![
            file("lib-4.0b1-py3-none-any.whl", None, false),
            file("lib-3.0-py3-none-any.whl", None, true),
            file("lib-2.5-py3-none-any.whl", Some(">=3.12"), false),
            file("lib-2.0-py3-none-any.whl", None, false),
        ];
        let fetch = Arc::new(CountingFetch::with(vec![project("lib", files)]));
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 2);
        source.prefetch_project(&name("lib"));
        settle(&source);
        assert_eq!(fetch.metadata(), ["lib-2.0-py3-none-any.whl"]);
    }

    #[test]
    fn metadata_reads_the_targets_wheel_and_failures_are_shared() {
        let files = vec![
            file("lib-1.0.tar.gz", None, false),
            file("lib-1.0-cp311-cp311-win_amd64.whl", None, false),
            file("lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", None, false),
        ];
        let fetch = Arc::new(CountingFetch::with(vec![project("lib", files)]));
        let source = IndexSource::new(Arc::clone(&fetch), linux(), 2);
        let lib = source.project(&name("lib")).expect("lib");
        source.metadata(&lib, &Version::new([1, 0])).expect("metadata");
        assert_eq!(fetch.metadata(), ["lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"]);

        let missing = source.metadata(&lib, &Version::new([9]));
        assert!(matches!(missing, Err(MetadataError::Invalid { .. })), "{missing:?}");
        for _ in 0..2 {
            let error = source.project(&name("nothere")).expect_err("not found");
            assert!(matches!(error, IndexError::NotFound { .. }), "{error}");
        }
        assert_eq!(fetch.pages().iter().filter(|p| *p == "nothere").count(), 1);
    }
}
