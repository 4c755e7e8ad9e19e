//! PEP 517 metadata builds, for sdists whose dependencies are not static: the sdist is
//! downloaded whole and checked against the index's sha256 before anything in it runs, unpacked
//! into a temporary directory, and its backend asked for the metadata in a virtual environment
//! of the run's, with the target's interpreter when the machine has it: builds that lock the same
//! backend and build requirements share one, and one runner that imported the backend. A local project's source
//! tree (`-r pyproject.toml` with dynamic dependencies) is built the same way, in place. The build requirements
//! (`[build-system] requires`, then what `get_requires_for_build_wheel` adds) are resolved by
//! hashlock ([`LockBuildRequirements`]) to one wheel each, downloaded and checked against the
//! sha256 the index published, and unpacked into the environment by hashlock
//! ([`super::wheel_install`]), so nothing unchecked runs. Results are cached under the sdist's
//! verified sha256.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pep508_rs::{PackageName, Requirement};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dist::{DistFile, SdistExtension, SdistFilename, is_sha256_hex, lower_hex};
use crate::index::cache::{Cache, MetadataKey};
use crate::index::config;
use crate::index::http::HttpClient;
use crate::index::pip_files;
use crate::metadata::wheel_install::{self, Scheme};
use crate::metadata::{MetadataError, download, sdist};
use crate::target::Target;

/// The hook runner, run by the build environment's interpreter.
const HOOK: &str = include_str!("pep517_hook.py");
/// pip's defaults for a source tree that names no build system.
const DEFAULT_REQUIRES: &str = "setuptools>=40.8.0";
const DEFAULT_BACKEND: &str = "setuptools.build_meta:__legacy__";
/// Lines of a failed step's output shown.
const TAIL_LINES: usize = 10;

/// How builds run, from the command line and the index settings.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// `--no-build`: refuse, with [`MetadataError::NoBuild`].
    pub no_build: bool,
    /// `--offline`: pip could not fetch the build requirements, so only cached results serve.
    pub offline: bool,
    /// For the whole build of one sdist: environment, installs and hooks.
    pub timeout: Duration,
    /// Builds at once.
    pub parallel: usize,
    /// `(3, Y)` of the target, whose interpreter builds when the machine has one.
    pub python: (u64, u64),
}

/// Resolves build requirements with hashlock's own resolver, for `target`, to the wheel of
/// each pin that the target installs, and downloads them. It lives above this layer (with the
/// commands); an implementation refuses a build requirement that would itself need a build.
pub trait LockBuildRequirements: Send + Sync {
    fn lock(&self, requirements: &[Requirement], target: &Target) -> Result<Vec<BuildWheel>, String>;
    /// The wheel's bytes, which have the sha256 the lock gave.
    fn download(&self, wheel: &BuildWheel) -> Result<File, String>;
}

/// A build requirement's wheel, as locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildWheel {
    pub name: PackageName,
    /// The locked packages that depend on it.
    pub required_by: Vec<PackageName>,
    pub filename: String,
    pub url: String,
    pub sha256: String,
}

/// What an sdist builds with: its backend and everything installed for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildSystem {
    /// `module:object`, as in `build-backend`.
    pub backend: String,
    /// `[build-system] requires`, then what `get_requires_for_build_wheel` asked for.
    pub requires: Vec<String>,
}

/// What a build found, as cached.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Built {
    build_system: BuildSystem,
    /// `None` when only the build system was asked for.
    metadata: Option<String>,
}

pub struct Builder {
    options: BuildOptions,
    locker: Box<dyn LockBuildRequirements>,
    cache: Option<Cache>,
    /// Builds that may still start (a counting semaphore).
    slots: (Mutex<usize>, Condvar),
    /// Results by sdist sha256, for this run (the cache may be off).
    done: Mutex<HashMap<String, Arc<Built>>>,
    /// The interpreter that builds and the environment it is, found once: finding it runs
    /// Python.
    interpreter: OnceLock<Result<(PathBuf, Target), String>>,
    /// Build environments by backend module and the sha256s of the wheels it imports from.
    shared_envs: Made<(String, Vec<String>), BuildEnv>,
    /// Layers by the sha256s of all the build requirements they complete.
    layers: Made<Vec<String>, Layer>,
    /// Locks by the build requirements locked (for the one interpreter that builds).
    locks: Made<Vec<String>, Vec<BuildWheel>>,
}

/// What a run makes once and shares, by key: made by the first to ask, waited for by the rest.
type Made<K, T> = Mutex<HashMap<K, Arc<OnceLock<Result<Arc<T>, Failed>>>>>;

/// One step that failed: why, and the end of its output.
#[derive(Clone)]
struct Failed {
    why: String,
    tail: Vec<String>,
}

impl Failed {
    /// A failure with no output of its own to show.
    fn plain(why: String) -> Self {
        Self { why, tail: Vec::new() }
    }
}

impl Builder {
    pub fn new(options: BuildOptions, locker: Box<dyn LockBuildRequirements>, cache: Option<Cache>) -> Self {
        let slots = (Mutex::new(options.parallel.max(1)), Condvar::new());
        Self {
            options,
            locker,
            cache,
            slots,
            done: Mutex::default(),
            interpreter: OnceLock::new(),
            shared_envs: Mutex::default(),
            layers: Mutex::default(),
            locks: Mutex::default(),
        }
    }

    /// `--no-build`: every build is refused.
    pub fn no_build(&self) -> bool {
        self.options.no_build
    }

    /// The `METADATA` a build of `file` gives.
    pub fn metadata(
        &self,
        http: &HttpClient,
        file: &DistFile,
        sdist: &SdistFilename,
    ) -> Result<Vec<u8>, MetadataError> {
        if self.options.no_build {
            return Err(MetadataError::NoBuild { name: sdist.name.clone(), version: sdist.version.clone() });
        }
        let built = self.run(http, file, sdist, true)?;
        Ok(built.metadata.clone().unwrap_or_default().into_bytes())
    }

    /// The backend and build requirements of `file`, from a build of its metadata if one ran,
    /// else by asking its backend (`get_requires_for_build_wheel` runs code from the sdist).
    pub fn build_system(
        &self,
        http: &HttpClient,
        file: &DistFile,
        sdist: &SdistFilename,
    ) -> Result<BuildSystem, MetadataError> {
        Ok(self.run(http, file, sdist, false)?.build_system.clone())
    }

    fn run(
        &self,
        http: &HttpClient,
        file: &DistFile,
        sdist: &SdistFilename,
        want_metadata: bool,
    ) -> Result<Arc<Built>, MetadataError> {
        let failed = |message: String| MetadataError::Build {
            name: sdist.name.clone(),
            version: sdist.version.clone(),
            message,
        };
        let Some(sha256) = file.sha256().map(str::to_ascii_lowercase).filter(|d| is_sha256_hex(d)) else {
            return Err(failed(
                "the index publishes no sha256 for its sdist, so hashlock runs none of its code".into(),
            ));
        };
        if let Some(built) = self.built_before(&sha256, want_metadata) {
            return Ok(built);
        }
        if self.options.offline {
            return Err(failed("building it needs the network, and --offline forbids it".into()));
        }
        let built = {
            let _slot = self.slot();
            // The interpreter is found while the sdist downloads: finding it runs Python.
            let built = std::thread::scope(|scope| {
                scope.spawn(|| self.interpreter());
                self.build(http, file, sdist, &sha256, want_metadata)
            });
            built.map_err(|failure| {
                if !failure.tail.is_empty() {
                    report_tail(&format_args!("{} {}", sdist.name, sdist.version), &failure);
                }
                failed(failure.why)
            })?
        };
        if let Some(cache) = &self.cache
            && let Ok(bytes) = serde_json::to_vec(&built)
        {
            cache.write_metadata(&MetadataKey::Built(sha256.clone()), &bytes);
        }
        Ok(self.remember(sha256, built))
    }

    /// The `METADATA` an earlier build of `file` gave, from this run or the cache, without
    /// building: what `--offline` can still use of an sdist whose own bytes were never cached.
    pub fn built_metadata(&self, file: &DistFile) -> Option<Vec<u8>> {
        let sha256 = file.sha256().map(str::to_ascii_lowercase).filter(|d| is_sha256_hex(d))?;
        Some(self.built_before(&sha256, true)?.metadata.clone()?.into_bytes())
    }

    /// A build of the sdist with this sha256 done before (in this run, else cached), if it has
    /// what is wanted.
    fn built_before(&self, sha256: &str, want_metadata: bool) -> Option<Arc<Built>> {
        let usable = |built: &Built| !want_metadata || built.metadata.is_some();
        if let Some(built) = lock(&self.done).get(sha256).filter(|b| usable(b)) {
            return Some(Arc::clone(built));
        }
        let bytes = self.cache.as_ref()?.read_metadata(&MetadataKey::Built(sha256.to_string()))?;
        let built = serde_json::from_slice::<Built>(&bytes).ok().filter(usable)?;
        Some(self.remember(sha256.to_string(), built))
    }

    fn remember(&self, sha256: String, built: Built) -> Arc<Built> {
        let built = Arc::new(built);
        lock(&self.done).insert(sha256, Arc::clone(&built));
        built
    }

    fn interpreter(&self) -> &Result<(PathBuf, Target), String> {
        self.interpreter.get_or_init(|| interpreter(self.options.python))
    }

    /// Waits for a free build slot; the slot is given back when the guard drops.
    fn slot(&self) -> Slot<'_> {
        let (count, freed) = &self.slots;
        let mut free = lock(count);
        while *free == 0 {
            free = freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(&self.slots)
    }

    fn build(
        &self,
        http: &HttpClient,
        file: &DistFile,
        sdist: &SdistFilename,
        sha256: &str,
        want_metadata: bool,
    ) -> Result<Built, Failed> {
        let deadline = Instant::now() + self.options.timeout;
        let url = Url::parse(&file.url).map_err(|e| Failed::plain(format!("the index gave an invalid URL: {e}")))?;
        let mut archive = download(http, &url).map_err(|e| Failed::plain(e.to_string()))?;
        let digest = file_sha256(&mut archive).map_err(|e| Failed::plain(format!("cannot read the download: {e}")))?;
        if digest != sha256 {
            return Err(Failed::plain(format!("the downloaded sdist has sha256 {digest}, the index says {sha256}")));
        }
        let work = tempfile::tempdir().map_err(|e| Failed::plain(format!("cannot make a build directory: {e}")))?;
        let tree = unpack(archive, sdist.extension, &file.filename, &work.path().join("src")).map_err(Failed::plain)?;
        let system = read_build_system(&tree).map_err(|e| Failed::plain(format!("{}: {e}", file.filename)))?;
        self.build_tree(&tree, system, work.path(), deadline, want_metadata)
    }

    /// The `METADATA` a build of the local source tree `tree` (a project's directory, built in
    /// place, as pip and uv build one) gives. Not cached: the tree may change between runs.
    pub fn source_tree_metadata(&self, tree: &Path) -> Result<Vec<u8>, String> {
        if self.options.no_build {
            return Err("--no-build forbids building it".into());
        }
        if self.options.offline {
            return Err("building it needs the network, and --offline forbids it".into());
        }
        let deadline = Instant::now() + self.options.timeout;
        let work = tempfile::tempdir().map_err(|e| format!("cannot make a build directory: {e}"))?;
        let system = read_build_system(tree)?;
        let _slot = self.slot();
        let built = self.build_tree(tree, system, work.path(), deadline, true).map_err(|failure| {
            if !failure.tail.is_empty() {
                report_tail(&tree.display(), &failure);
            }
            failure.why
        })?;
        Ok(built.metadata.unwrap_or_default().into_bytes())
    }

    /// Builds what `want_metadata` asks of the source tree `tree`, its working files under
    /// `work`: the build requirements installed, then the backend's hooks run.
    fn build_tree(
        &self,
        tree: &Path,
        system: SourceBuildSystem,
        work: &Path,
        deadline: Instant,
        want_metadata: bool,
    ) -> Result<Built, Failed> {
        let (python, target) = self.interpreter().as_ref().map_err(|e| Failed::plain(e.clone()))?;
        let wheels = self.lock_wheels(&system.requires, target)?;
        let (module, attribute) = system.backend.split_once(':').unwrap_or((&system.backend, ""));
        // A backend found in the tree (`backend-path`) is the tree's own: its environment is too.
        let shared = cfg!(unix) && system.backend_path.is_empty();
        let (mut env, layer) = match shared {
            true => {
                let base = backend_base(module, &wheels);
                // The layer installs while the environment does.
                let (env, layer) = std::thread::scope(|scope| {
                    let layer = scope.spawn(|| self.layer(&wheels, &base, target));
                    let env = self.shared_env(module, &base, python, target);
                    let layer = layer
                        .join()
                        .unwrap_or_else(|_| Err(Failed::plain("installing the build requirements failed".into())));
                    (env, layer)
                });
                (env?, layer?)
            }
            false => (Arc::new(self.private_env(&system, &wheels, python, target, tree)?), None),
        };
        let mut hooks = HookRun {
            tree,
            work,
            deadline,
            timeout: self.options.timeout,
            attribute: attribute.trim(),
            layer: layer.as_ref().map(|layer| layer.site.as_path()),
        };
        let extra: Vec<String> = serde_json::from_slice(&env.hook("requires", &hooks)?)
            .map_err(|e| Failed::plain(format!("get_requires_for_build_wheel gave no list of strings: {e}")))?;
        let extra: Vec<String> = extra.into_iter().filter(|r| !system.requires.contains(r)).collect();
        if !extra.is_empty() {
            let extra_wheels = self.lock_wheels(&extra, target)?;
            if shared {
                env = Arc::new(self.private_env(&system, &wheels, python, target, tree)?);
                hooks.layer = None;
            }
            self.install_wheels(&extra_wheels, &env.scheme)?;
            // What is installed now may replace a module the runner imported: the metadata
            // hook gets a fresh one.
            env.restart();
        }
        let metadata = match want_metadata {
            true => Some(String::from_utf8_lossy(&env.hook("metadata", &hooks)?).into_owned()),
            false => None,
        };
        let requires = system.requires.into_iter().chain(extra).collect();
        Ok(Built { build_system: BuildSystem { backend: system.backend, requires }, metadata })
    }

    /// The environment every build of this run whose backend is `module` runs its hooks in,
    /// when its build requirements lock `base` for the backend: installed once, the module
    /// imported once (all four of homeassistant's builds share one).
    fn shared_env(
        &self,
        module: &str,
        base: &[BuildWheel],
        python: &Path,
        target: &Target,
    ) -> Result<Arc<BuildEnv>, Failed> {
        let cell = Arc::clone(lock(&self.shared_envs).entry((module.to_string(), digests(base))).or_default());
        cell.get_or_init(|| {
            let env = BuildEnv::create(python, target, module, "[]", None)?;
            self.install_wheels(base, &env.scheme)?;
            Ok(Arc::new(env))
        })
        .clone()
    }

    /// The wheels of `wheels` that `base` lacks, installed once for every build that locks the
    /// same; `None` when there are none.
    fn layer(&self, wheels: &[BuildWheel], base: &[BuildWheel], target: &Target) -> Result<Option<Arc<Layer>>, Failed> {
        if wheels.len() == base.len() {
            return Ok(None);
        }
        let cell = Arc::clone(lock(&self.layers).entry(digests(wheels)).or_default());
        let made = cell.get_or_init(|| {
            let dir =
                tempfile::tempdir().map_err(|e| Failed::plain(format!("cannot make a build environment: {e}")))?;
            let scheme = Scheme::of_venv(dir.path(), python_minor(target));
            let extra: Vec<BuildWheel> = wheels.iter().filter(|wheel| !base.contains(wheel)).cloned().collect();
            self.install_wheels(&extra, &scheme)?;
            Ok(Arc::new(Layer { site: scheme.site_packages, _dir: dir }))
        });
        made.clone().map(Some)
    }

    /// An environment of one build's own, its runner started in `tree` (where `backend-path`
    /// points).
    fn private_env(
        &self,
        system: &SourceBuildSystem,
        wheels: &[BuildWheel],
        python: &Path,
        target: &Target,
        tree: &Path,
    ) -> Result<BuildEnv, Failed> {
        let backend_path = serde_json::to_string(&system.backend_path).unwrap_or_else(|_| "[]".into());
        let env = BuildEnv::create(python, target, &system.backend, &backend_path, Some(tree))?;
        self.install_wheels(wheels, &env.scheme)?;
        Ok(env)
    }

    /// Resolves `requires` to one wheel each, once per run (builds at once often ask alike).
    fn lock_wheels(&self, requires: &[String], target: &Target) -> Result<Arc<Vec<BuildWheel>>, Failed> {
        if requires.is_empty() {
            return Ok(Arc::default());
        }
        let cell = Arc::clone(lock(&self.locks).entry(requires.to_vec()).or_default());
        cell.get_or_init(|| {
            let requirements = requires
                .iter()
                .map(|text| {
                    crate::requirement::parse(text)
                        .map_err(|e| Failed::plain(format!("build requirement `{text}`: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let wheels = self
                .locker
                .lock(&requirements, target)
                .map_err(|e| Failed::plain(format!("build requirements: {e}")))?;
            Ok(Arc::new(wheels))
        })
        .clone()
    }

    /// Installs `wheels` into the build environment, every one checked against its hash.
    fn install_wheels(&self, wheels: &[BuildWheel], scheme: &Scheme) -> Result<(), Failed> {
        for wheel in wheels {
            let file = self.locker.download(wheel).map_err(|e| Failed::plain(format!("build requirements: {e}")))?;
            wheel_install::install(file, &wheel.filename, scheme)
                .map_err(|e| Failed::plain(format!("installing the build requirements: {e}")))?;
        }
        Ok(())
    }
}

/// One build's hooks: the tree they run in, where their answers and output go, and by when.
struct HookRun<'a> {
    tree: &'a Path,
    work: &'a Path,
    deadline: Instant,
    timeout: Duration,
    /// The backend's object within its module (`__legacy__`), empty for the module itself.
    attribute: &'a str,
    /// A [`Layer`]'s site directory, added in each hook's process.
    layer: Option<&'a Path>,
}

/// Build requirements installed beside a shared environment's, for the builds that need more
/// than its backend imports (`pybind11` beside `setuptools`): a site directory each hook of
/// theirs adds, so that the backend is still imported once.
struct Layer {
    site: PathBuf,
    _dir: tempfile::TempDir,
}

/// The sorted sha256s of `wheels`.
fn digests(wheels: &[BuildWheel]) -> Vec<String> {
    let mut digests: Vec<String> = wheels.iter().map(|wheel| wheel.sha256.clone()).collect();
    digests.sort();
    digests
}

/// `(3, Y)` of the target's interpreter.
fn python_minor(target: &Target) -> (u64, u64) {
    let python = target.lowest_python();
    let release = python.release();
    (release.first().copied().unwrap_or(3), release.get(1).copied().unwrap_or(0))
}

/// The wheels of `wheels` that importing the backend `module` needs: the distribution named as
/// its top-level package (`setuptools` of `setuptools.build_meta`) and what it requires,
/// transitively; all of them when none is named so.
fn backend_base(module: &str, wheels: &[BuildWheel]) -> Vec<BuildWheel> {
    let top = module.trim().split('.').next().unwrap_or_default();
    let Some(top) = PackageName::from_str(top).ok().filter(|top| wheels.iter().any(|wheel| wheel.name == *top)) else {
        return wheels.to_vec();
    };
    let mut needed: Vec<&PackageName> = vec![&top];
    while let Some(more) =
        wheels.iter().find(|w| !needed.contains(&&w.name) && w.required_by.iter().any(|by| needed.contains(&by)))
    {
        needed.push(&more.name);
    }
    wheels.iter().filter(|wheel| needed.contains(&&wheel.name)).cloned().collect()
}

/// A virtual environment with build requirements installed, without pip of its own (hashlock
/// installs them), and the runner of its backend's hooks.
struct BuildEnv {
    scheme: Scheme,
    hook_file: PathBuf,
    /// `module:object`, or the module alone for an environment shared by backends in it.
    backend: String,
    /// `backend-path`, as JSON for the runner.
    backend_path: String,
    /// Where the runner starts: `backend-path` is relative to it.
    home: PathBuf,
    /// The runner's own output: a backend that does not import says why there.
    runner_log: PathBuf,
    /// Unix: started at the first hook, and again after an install.
    runner: Mutex<Option<Arc<HookServer>>>,
    /// Dropped last: the runner is ended first.
    _dir: tempfile::TempDir,
}

impl BuildEnv {
    fn create(
        python: &Path,
        target: &Target,
        backend: &str,
        backend_path: &str,
        home: Option<&Path>,
    ) -> Result<Self, Failed> {
        let dir = tempfile::tempdir().map_err(|e| Failed::plain(format!("cannot make a build environment: {e}")))?;
        let env = dir.path().join("env");
        let scheme = Scheme::of_venv(&env, python_minor(target));
        let version = target.lowest_python().release().iter().map(u64::to_string).collect::<Vec<_>>().join(".");
        write_venv(python, &version, &env, &scheme)
            .map_err(|e| Failed::plain(format!("cannot make a virtual environment with {}: {e}", python.display())))?;
        let hook_file = dir.path().join("hook.py");
        std::fs::write(&hook_file, HOOK).map_err(|e| Failed::plain(format!("cannot write the hook runner: {e}")))?;
        Ok(Self {
            scheme,
            hook_file,
            backend: backend.to_string(),
            backend_path: backend_path.to_string(),
            home: home.unwrap_or(dir.path()).to_path_buf(),
            runner_log: dir.path().join("runner.log"),
            runner: Mutex::new(None),
            _dir: dir,
        })
    }

    /// The runner's command; `hook` and `out` for a single hook, none to serve.
    fn command(&self, hook: &str, out: Option<&Path>) -> Command {
        // A runner imports the module; each request names the backend's object in it.
        let backend = match hook {
            "serve" => self.backend.split(':').next().unwrap_or_default(),
            _ => &self.backend,
        };
        let mut command = Command::new(&self.scheme.python);
        command.arg(&self.hook_file).args([hook, backend, &self.backend_path]).args(out).current_dir(&self.home);
        // The environment lives for the run: bytecode the first hook writes spares the next
        // compiling the backend again (a fifth of a build).
        command.env_remove("PYTHONDONTWRITEBYTECODE");
        without_pip_settings(&mut command);
        command
    }

    /// Runs the hook `name` of `run.tree` and gives its answer.
    fn hook(&self, name: &str, run: &HookRun) -> Result<Vec<u8>, Failed> {
        let out = run.work.join(format!("{name}.out"));
        let log = run.work.join("log");
        let what = format!("the backend's {name} hook");
        // Windows has no fork: a process per hook there.
        match cfg!(unix) {
            true => self.server()?.run(name, run, &out, &log, &what)?,
            false => {
                let mut command = self.command(name, Some(&out));
                self::run(command.current_dir(run.tree), &log, run.deadline, run.timeout, &what)?
            }
        }
        std::fs::read(&out).map_err(|e| Failed::plain(format!("the {name} hook left no answer: {e}")))
    }

    fn server(&self) -> Result<Arc<HookServer>, Failed> {
        let mut runner = lock(&self.runner);
        if let Some(server) = runner.as_ref() {
            return Ok(Arc::clone(server));
        }
        let server = Arc::new(HookServer::start(self.command("serve", None), &self.runner_log)?);
        *runner = Some(Arc::clone(&server));
        Ok(server)
    }

    fn restart(&self) {
        lock(&self.runner).take();
    }
}

/// A build slot, given back on drop.
struct Slot<'a>(&'a (Mutex<usize>, Condvar));

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *lock(&self.0.0) += 1;
        self.0.1.notify_one();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn file_sha256(file: &mut File) -> std::io::Result<String> {
    use std::io::Seek;
    let mut hasher = Sha256::new();
    std::io::copy(file, &mut hasher)?;
    file.seek(std::io::SeekFrom::Start(0))?;
    Ok(lower_hex(&hasher.finalize()))
}

/// The error line's detail, shown once, when a step fails: which build (`what`), why, and its
/// last lines.
fn report_tail(what: &dyn std::fmt::Display, failure: &Failed) {
    eprintln!("hashlock: {what}: {}; its last lines:", failure.why);
    for line in &failure.tail {
        eprintln!("    | {}", crate::output::line::escape(line));
    }
}

/// Unpacks the sdist into `dir` and returns its source tree: the one top-level directory.
fn unpack(archive: File, extension: SdistExtension, filename: &str, dir: &Path) -> Result<PathBuf, String> {
    let bad = |e: &dyn std::fmt::Display| format!("{filename}: cannot unpack: {e}");
    std::fs::create_dir_all(dir).map_err(|e| bad(&e))?;
    // Both unpackers refuse members that would land outside `dir`; the size cap keeps a
    // compression bomb from filling the disk.
    match extension {
        SdistExtension::TarGz => unpack_tar(flate2::read::GzDecoder::new(archive), dir, MAX_UNPACKED_SIZE),
        SdistExtension::Tar => unpack_tar(archive, dir, MAX_UNPACKED_SIZE),
        SdistExtension::Zip => unpack_zip(archive, dir, MAX_UNPACKED_SIZE),
        SdistExtension::TarBz2 | SdistExtension::TarXz => return Err(sdist::unreadable(filename).to_string()),
    }
    .map_err(|e| bad(&e))?;
    let entries: Vec<PathBuf> = std::fs::read_dir(dir).map_err(|e| bad(&e))?.flatten().map(|e| e.path()).collect();
    match entries.as_slice() {
        [top] if top.is_dir() => Ok(top.clone()),
        _ => Ok(dir.to_path_buf()),
    }
}

/// Most an sdist may unpack to: real ones reach hundreds of MB.
const MAX_UNPACKED_SIZE: u64 = 4 * 1024 * 1024 * 1024;

fn too_large(cap: u64) -> std::io::Error {
    std::io::Error::other(format!("it unpacks to more than {cap} bytes"))
}

fn unpack_tar(reader: impl Read, dir: &Path, cap: u64) -> std::io::Result<()> {
    let mut total: u64 = 0;
    for entry in tar::Archive::new(reader).entries()? {
        let mut entry = entry?;
        // The header's size is what the entry writes (sparse files aside, which sdists are not).
        total = total.saturating_add(entry.header().size()?);
        if total > cap {
            return Err(too_large(cap));
        }
        entry.unpack_in(dir)?;
    }
    Ok(())
}

fn unpack_zip(archive: File, dir: &Path, cap: u64) -> std::io::Result<()> {
    let mut zip = zip::ZipArchive::new(archive).map_err(std::io::Error::other)?;
    let mut left = cap;
    for index in 0..zip.len() {
        let mut member = zip.by_index(index).map_err(std::io::Error::other)?;
        // Members whose path would leave `dir` are skipped, as `ZipArchive::extract` does.
        let Some(path) = member.enclosed_name().map(|name| dir.join(name)) else { continue };
        if member.is_dir() {
            std::fs::create_dir_all(&path)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Counted as inflated, not as declared: a member may claim less than it holds.
        let written = std::io::copy(&mut (&mut member).take(left + 1), &mut File::create(&path)?)?;
        left = left.checked_sub(written).ok_or_else(|| too_large(cap))?;
    }
    Ok(())
}

/// `[build-system]` of the source tree, with pip's defaults.
#[derive(Debug, PartialEq, Eq)]
struct SourceBuildSystem {
    backend: String,
    backend_path: Vec<String>,
    requires: Vec<String>,
}

fn read_build_system(tree: &Path) -> Result<SourceBuildSystem, String> {
    let text = match std::fs::read_to_string(tree.join("pyproject.toml")) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("pyproject.toml: {e}")),
    };
    parse_build_system(text.as_deref())
}

fn parse_build_system(pyproject: Option<&str>) -> Result<SourceBuildSystem, String> {
    #[derive(Deserialize)]
    struct Pyproject {
        #[serde(rename = "build-system")]
        build_system: Option<Table>,
    }
    #[derive(Deserialize)]
    struct Table {
        requires: Option<Vec<String>>,
        #[serde(rename = "build-backend")]
        build_backend: Option<String>,
        #[serde(rename = "backend-path", default)]
        backend_path: Vec<String>,
    }
    let table = match pyproject {
        Some(text) => {
            toml::from_str::<Pyproject>(text).map_err(|e| format!("pyproject.toml: {}", e.message()))?.build_system
        }
        None => None,
    };
    let Some(table) = table else {
        return Ok(SourceBuildSystem {
            backend: DEFAULT_BACKEND.into(),
            backend_path: Vec::new(),
            requires: vec![DEFAULT_REQUIRES.into()],
        });
    };
    Ok(SourceBuildSystem {
        backend: table.build_backend.unwrap_or_else(|| DEFAULT_BACKEND.into()),
        backend_path: table.backend_path,
        requires: table.requires.ok_or("pyproject.toml: [build-system] has no `requires` (pip refuses it too)")?,
    })
}

/// The interpreter that builds, and the target its build requirements are resolved for:
/// `python3.Y` on PATH, else pyenv's newest `3.Y.*`, else the `python3` on PATH.
fn interpreter((major, minor): (u64, u64)) -> Result<(PathBuf, Target), String> {
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")));
    let mut pyenv: Vec<PathBuf> = pyenv_root
        .and_then(|root| std::fs::read_dir(root.join("versions")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&format!("{major}.{minor}.")))
        .map(|entry| entry.path().join("bin").join("python"))
        .collect();
    pyenv.sort_by_key(|path| patch_of(path));
    // A pyenv shim is not run: for a version that is not active it runs pyenv's scripts only
    // to fail (0.1 s and more), and pyenv's versions are tried next anyway.
    let on_path = on_path(&format!("python{major}.{minor}{}", std::env::consts::EXE_SUFFIX))
        .filter(|path| pip_files::read_head(path).is_none_or(|head| pip_files::pyenv_shim(&head).is_none()));
    let wanted = on_path.into_iter().chain(pyenv.into_iter().rev());
    for python in wanted {
        if let Some((version, full, base)) = version_of(&python)
            && version == (major, minor)
        {
            let target = Target::from_options(Some(&full), None).map_err(|e| e.to_string())?;
            return Ok((base, target));
        }
    }
    let (_, full, base) = version_of(Path::new("python3")).ok_or("no python3 on PATH to build with")?;
    Ok((base, Target::from_options(Some(&full), None).map_err(|e| e.to_string())?))
}

/// The first file `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|path| path.is_file())
}

/// The patch number of `.../3.Y.Z/bin/python`, for choosing the newest.
fn patch_of(python: &Path) -> u64 {
    let dir = python.parent().and_then(Path::parent).and_then(Path::file_name).unwrap_or_default();
    dir.to_string_lossy().split('.').nth(2).and_then(|p| p.parse().ok()).unwrap_or(0)
}

/// `((3, Y), "3.Y.Z", base)` of an interpreter that runs, or `None`. `base` is the absolute path
/// a virtual environment made by it would link to (`sys._base_executable`, as `venv` takes it).
fn version_of(python: &Path) -> Option<((u64, u64), String, PathBuf)> {
    let script = "import sys; print('%d.%d.%d' % sys.version_info[:3]); \
                  print(getattr(sys, '_base_executable', sys.executable))";
    let out = without_pip_settings(Command::new(python).args(["-c", script])).stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines().map(str::trim);
    let (version, base) = (lines.next()?.to_string(), PathBuf::from(lines.next()?));
    let mut parts = version.split('.').map(|p| p.parse::<u64>());
    match (out.status.success() && base.is_absolute(), parts.next(), parts.next()) {
        (true, Some(Ok(major)), Some(Ok(minor))) => Some(((major, minor), version, base)),
        _ => None,
    }
}

/// Makes the virtual environment `scheme` at `env` for the interpreter `base` (CPython `version`),
/// as `python -m venv --without-pip --symlinks` lays it out, without running Python (60 ms of CPU a
/// build).
#[cfg(unix)]
fn write_venv(base: &Path, version: &str, env: &Path, scheme: &Scheme) -> std::io::Result<()> {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(&scheme.site_packages)?;
    std::fs::create_dir_all(&scheme.scripts)?;
    std::fs::create_dir_all(env.join("include"))?;
    // venv's own condition for the `lib64` link.
    if cfg!(target_pointer_width = "64") && !cfg!(target_os = "macos") {
        symlink("lib", env.join("lib64"))?;
    }
    let short: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
    for name in ["python".to_string(), "python3".to_string(), format!("python{short}")] {
        symlink(base, scheme.scripts.join(name))?;
    }
    let home = base.parent().unwrap_or(base);
    let executable = std::fs::canonicalize(base)?;
    let config = format!(
        "home = {}\ninclude-system-site-packages = false\nversion = {version}\nexecutable = {}\n\
         command = {} -m venv --without-pip {}\n",
        home.display(),
        executable.display(),
        base.display(),
        env.display()
    );
    std::fs::write(env.join("pyvenv.cfg"), config)
}

/// Makes the virtual environment at `env` with `python -m venv`.
#[cfg(not(unix))]
fn write_venv(base: &Path, _version: &str, env: &Path, _scheme: &Scheme) -> std::io::Result<()> {
    let out = Command::new(base).args(["-m", "venv", "--without-pip"]).arg(env).output()?;
    match out.status.success() {
        true => Ok(()),
        false => Err(std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_string())),
    }
}

/// A build sees no pip configuration and no Python path of the caller's.
fn without_pip_settings(command: &mut Command) -> &mut Command {
    config::without_pip_settings(command).env_remove("PYTHONPATH").env_remove("PYTHONHOME").env_remove("PYTHONUSERBASE")
}

/// Runs one step with its output (stdout and stderr, interleaved) captured in `log`, killed at
/// `deadline`.
fn run(command: &mut Command, log: &Path, deadline: Instant, timeout: Duration, what: &str) -> Result<(), Failed> {
    let out = File::create(log).map_err(|e| Failed::plain(format!("cannot capture output: {e}")))?;
    let err = out.try_clone().map_err(|e| Failed::plain(format!("cannot capture output: {e}")))?;
    // Its own process group, so that a timeout ends whatever the backend started too.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(command, 0);
    let mut child =
        command.stdin(Stdio::null()).stdout(out).stderr(err).spawn().map_err(|e| {
            Failed::plain(format!("{what}: cannot run {}: {e}", command.get_program().to_string_lossy()))
        })?;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                return Err(Failed {
                    why: format!("{what}: timed out after {} s (--build-timeout)", timeout.as_secs()),
                    tail: tail(log),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Failed::plain(format!("{what}: {e}"))),
        }
    };
    match status.success() {
        true => Ok(()),
        false => Err(Failed { why: format!("{what} failed ({status})"), tail: tail(log) }),
    }
}

/// A hook runner that has imported the backend and runs each hook in a fork of itself: PEP 517's
/// fresh process per hook, without importing the backend for each (a third of a build). Hooks of
/// several builds sharing its environment run at once, each in its own tree and process group.
struct HookServer {
    child: Mutex<std::process::Child>,
    stdin: Mutex<std::process::ChildStdin>,
    /// Each waiting hook's news, by request; `None` once the runner has ended.
    waiting: Arc<Mutex<Option<Waiting>>>,
    /// The process group of each hook that runs, ended with the runner.
    running: Mutex<HashMap<u64, i32>>,
    next_request: std::sync::atomic::AtomicU64,
    log: PathBuf,
}

/// Where each waiting hook hears of itself, by request.
type Waiting = HashMap<u64, Sender<HookNews>>;

/// What the runner says of one hook.
enum HookNews {
    Started { group: i32 },
    Exited { status: i32 },
}

impl HookServer {
    fn start(mut command: Command, log: &Path) -> Result<Self, Failed> {
        let what = "the backend's hook runner";
        let err = File::create(log).map_err(|e| Failed::plain(format!("cannot capture output: {e}")))?;
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(err).spawn().map_err(|e| {
            Failed::plain(format!("{what}: cannot run {}: {e}", command.get_program().to_string_lossy()))
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            kill_group(&mut child);
            return Err(Failed::plain(format!("{what}: no pipes to it")));
        };
        let waiting: Arc<Mutex<Option<Waiting>>> = Arc::new(Mutex::new(Some(HashMap::new())));
        let news_for = Arc::clone(&waiting);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut words = line.split_whitespace();
                let (Some(Ok(request)), Some(kind), Some(Ok(number))) =
                    (words.next().map(str::parse), words.next(), words.next().map(str::parse))
                else {
                    break;
                };
                let news = match kind {
                    "pid" => HookNews::Started { group: number },
                    _ => HookNews::Exited { status: number },
                };
                if let Some(waiting) = lock(&news_for).as_ref()
                    && let Some(send) = waiting.get(&request)
                {
                    let _ = send.send(news);
                }
            }
            // Every hook still waiting learns that the runner is gone.
            lock(&news_for).take();
        });
        Ok(Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            waiting,
            running: Mutex::default(),
            next_request: Default::default(),
            log: log.to_path_buf(),
        })
    }

    /// Runs the hook `name` of `run.tree`, which writes its answer to `out` and its output to
    /// `log`, by the build's deadline.
    fn run(&self, name: &str, run: &HookRun, out: &Path, log: &Path, what: &str) -> Result<(), Failed> {
        use std::io::Write;
        use std::sync::mpsc::RecvTimeoutError;
        let request = self.next_request.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (send, news) = std::sync::mpsc::channel();
        match lock(&self.waiting).as_mut() {
            Some(waiting) => waiting.insert(request, send),
            None => return Err(self.ended(what)),
        };
        let fields = [
            request.to_string().into_bytes(),
            name.into(),
            run.attribute.into(),
            path_bytes(run.tree),
            path_bytes(out),
            path_bytes(log),
            run.layer.map(path_bytes).unwrap_or_default(),
        ];
        let mut line = Vec::new();
        for field in &fields {
            line.extend_from_slice(field);
            line.push(0);
        }
        // A runner that is gone (the backend did not import) is told by its exit status below.
        let _ = lock(&self.stdin).write_all(&line);
        let result = loop {
            match news.recv_timeout(run.deadline.saturating_duration_since(Instant::now())) {
                Ok(HookNews::Started { group }) => {
                    lock(&self.running).insert(request, group);
                }
                Ok(HookNews::Exited { status: 0 }) => break Ok(()),
                Ok(HookNews::Exited { status }) if status < 0 => {
                    break Err(Failed { why: format!("{what} failed (signal: {})", -status), tail: tail(log) });
                }
                Ok(HookNews::Exited { status }) => {
                    break Err(Failed { why: format!("{what} failed (exit status: {status})"), tail: tail(log) });
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(group) = lock(&self.running).get(&request) {
                        kill_process_group(*group);
                    }
                    break Err(Failed {
                        why: format!("{what}: timed out after {} s (--build-timeout)", run.timeout.as_secs()),
                        tail: tail(log),
                    });
                }
                Err(RecvTimeoutError::Disconnected) => break Err(self.ended(what)),
            }
        };
        lock(&self.running).remove(&request);
        if let Some(waiting) = lock(&self.waiting).as_mut() {
            waiting.remove(&request);
        }
        result
    }

    /// The failure of a hook whose runner has ended: how it ended, and the end of its output.
    fn ended(&self, what: &str) -> Failed {
        match lock(&self.child).wait() {
            Ok(status) => Failed { why: format!("{what} failed ({status})"), tail: tail(&self.log) },
            Err(e) => Failed { why: format!("{what}: {e}"), tail: tail(&self.log) },
        }
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        // Idle between hooks: nothing of it is wanted once the builds have their answers.
        for group in lock(&self.running).values() {
            kill_process_group(*group);
        }
        kill_group(&mut lock(&self.child));
    }
}

/// A path as the runner reads it: its bytes.
fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    return std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    #[cfg(not(unix))]
    return path.to_string_lossy().into_owned().into_bytes();
}

/// Ends `child` and every process of its group (compilers, helpers the backend started).
fn kill_group(child: &mut std::process::Child) {
    if let Ok(group) = i32::try_from(child.id()) {
        kill_process_group(group);
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn kill_process_group(group: i32) {
    // SAFETY: kill(2) takes plain integers; a group that is gone already is ESRCH, ignored.
    #[cfg(unix)]
    unsafe {
        libc::kill(-group, libc::SIGKILL)
    };
    #[cfg(not(unix))]
    let _ = group;
}

/// The last [`TAIL_LINES`] lines of a log.
fn tail(log: &Path) -> Vec<String> {
    let Ok(file) = File::open(log) else { return Vec::new() };
    let mut lines: Vec<String> = Vec::new();
    let mut reader = BufReader::new(file.take(crate::metadata::MAX_METADATA_SIZE));
    let mut bytes = Vec::new();
    while reader.read_until(b'\n', &mut bytes).is_ok_and(|read| read > 0) {
        lines.push(String::from_utf8_lossy(&bytes).trim_end().to_string());
        bytes.clear();
        if lines.len() > TAIL_LINES {
            lines.remove(0);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_system_defaults_are_pips() {
        let legacy = |requires: &[&str]| SourceBuildSystem {
            backend: DEFAULT_BACKEND.into(),
            backend_path: vec![],
            requires: requires.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(parse_build_system(None).unwrap(), legacy(&[DEFAULT_REQUIRES]));
        assert_eq!(parse_build_system(Some("[project]\nname = 'x'\n")).unwrap(), legacy(&[DEFAULT_REQUIRES]));
        assert_eq!(
            parse_build_system(Some("[build-system]\nrequires = ['setuptools>=61']\n")).unwrap(),
            legacy(&["setuptools>=61"])
        );
        let named = parse_build_system(Some(
            "[build-system]\nrequires = ['flit_core>=3.2']\nbuild-backend = 'flit_core.buildapi'\nbackend-path = ['.']\n",
        ))
        .unwrap();
        assert_eq!(
            (named.backend.as_str(), named.backend_path, named.requires),
            ("flit_core.buildapi", vec![".".to_string()], vec!["flit_core>=3.2".to_string()])
        );
        assert!(
            parse_build_system(Some("[build-system]\nbuild-backend = 'x'\n")).unwrap_err().contains("no `requires`")
        );
        assert!(parse_build_system(Some("[build-system\n")).unwrap_err().starts_with("pyproject.toml: "));
    }

    #[test]
    fn unpacking_stops_at_the_size_cap_and_stays_inside_its_directory() {
        use std::io::{Seek, Write};
        let member = vec![b'x'; 600];
        let mut tar = tar::Builder::new(Vec::new());
        for path in ["demo-1.0/a", "demo-1.0/b"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(member.len() as u64);
            header.set_cksum();
            tar.append_data(&mut header, path, member.as_slice()).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for sub in ["big", "fits", "zbig", "zfits"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        assert!(unpack_tar(tar.as_slice(), &dir.path().join("big"), 1000).unwrap_err().to_string().contains("1000"));
        unpack_tar(tar.as_slice(), &dir.path().join("fits"), 1200).unwrap();
        assert_eq!(std::fs::read(dir.path().join("fits/demo-1.0/b")).unwrap(), member);

        let mut zip = zip::ZipWriter::new(tempfile::tempfile().unwrap());
        for path in ["demo-1.0/a", "demo-1.0/b", "../escape"] {
            zip.start_file(path, zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(&member).unwrap();
        }
        let mut zip = zip.finish().unwrap();
        zip.rewind().unwrap();
        let err = unpack_zip(zip.try_clone().unwrap(), &dir.path().join("zbig"), 1000).unwrap_err();
        assert!(err.to_string().contains("1000"), "{err}");
        zip.rewind().unwrap();
        unpack_zip(zip, &dir.path().join("zfits"), 1200).unwrap();
        assert_eq!(std::fs::read(dir.path().join("zfits/demo-1.0/a")).unwrap(), member);
        assert!(!dir.path().join("escape").exists(), "a member cannot leave the directory");
    }

    #[test]
    fn the_written_virtual_environment_is_one_python_takes_for_a_venv() {
        let (_, version, base) = version_of(Path::new("python3")).expect("python3 on PATH");
        let release: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("env");
        let scheme = Scheme::of_venv(&env, (release[0], release[1]));
        write_venv(&base, &version, &env, &scheme).unwrap();
        let script = "import site, sys, sysconfig; print(sys.prefix); print(sys.base_prefix); \
                      print(sysconfig.get_paths(vars={'base': sys.base_prefix})['purelib']); print(repr(sys.path))";
        let out = without_pip_settings(Command::new(&scheme.python).args(["-c", script])).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let canonical = |path: &Path| std::fs::canonicalize(path).unwrap();
        assert_eq!(canonical(Path::new(lines[0])), canonical(&env));
        assert_eq!(lines[1], base.parent().and_then(Path::parent).unwrap().to_str().unwrap());
        let site_packages = canonical(&scheme.site_packages).display().to_string();
        let on_path = |dir: &str| lines[3].contains(&format!("'{dir}'"));
        let env_site = on_path(&site_packages) || on_path(&scheme.site_packages.display().to_string());
        assert!(env_site, "the environment's site-packages on {}", lines[3]);
        assert!(!on_path(lines[2]), "the base's site-packages {} off {}", lines[2], lines[3]);
    }

    #[test]
    fn the_backends_base_is_its_distribution_and_what_that_requires() {
        let wheel = |name: &str, required_by: &[&str]| BuildWheel {
            name: PackageName::from_str(name).unwrap(),
            required_by: required_by.iter().map(|by| PackageName::from_str(by).unwrap()).collect(),
            filename: format!("{name}-1.0-py3-none-any.whl"),
            url: String::new(),
            sha256: name.into(),
        };
        let names = |wheels: Vec<BuildWheel>| wheels.into_iter().map(|w| w.name.to_string()).collect::<Vec<_>>();
        let wheels = [
            wheel("hatchling", &[]),
            wheel("hatch-vcs", &[]),
            wheel("packaging", &["hatchling", "setuptools-scm"]),
            wheel("pluggy", &["hatchling"]),
            wheel("setuptools-scm", &["hatch-vcs"]),
        ];
        assert_eq!(names(backend_base("hatchling.build", &wheels)), ["hatchling", "packaging", "pluggy"]);
        assert_eq!(
            names(backend_base("setuptools.build_meta", &[wheel("setuptools", &[]), wheel("pybind11", &[])])),
            ["setuptools"]
        );
        // `poetry.core.masonry.api` is not `poetry`'s: nothing is left out.
        let poetry = [wheel("poetry-core", &[]), wheel("cython", &[])];
        assert_eq!(names(backend_base("poetry.core.masonry.api", &poetry)), ["poetry-core", "cython"]);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        std::fs::write(&log, (1..=25).map(|n| format!("line {n}\n")).collect::<String>()).unwrap();
        let lines = tail(&log);
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!((lines[0].as_str(), lines[TAIL_LINES - 1].as_str()), ("line 16", "line 25"));
    }
}
