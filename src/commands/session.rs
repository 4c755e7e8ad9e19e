//! What every index-backed command sets up: settings, target, and the index client.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use pep508_rs::{PackageName, Requirement};

use crate::check::attestations::{Assessment, Identities, assess};
use crate::check::findings::{Finding, TargetFile, best_wheel, index_shadowing, target_file};
use crate::check::provenance::{SigstoreVerifier, TrustedRoot};
use crate::cli::{BuildArgs, IndexArgs, OutputArgs, ProvenanceArgs, ReportOptions, TargetArgs};
use crate::commands::{ExitStatus, Inputs};
use crate::dist::{DistFilename, Formats};
use crate::index::IndexClient;
use crate::index::cache::Freshness;
use crate::index::config::PIP_DEFAULT_NAME;
use crate::index::http::{RequestKind, median_in_flight, spool_hashed};
use crate::lock::Lock;
use crate::metadata::MAX_DOWNLOAD_SIZE;
use crate::metadata::build::{BuildSystem, BuildWheel, Builder, LockBuildRequirements};
use crate::output::color::Paint;
use crate::output::line::escape;
use crate::output::report::{Format, render_all};
use crate::output::{count, write_atomic};
use crate::progress::with_progress;
use crate::report::Report;
use crate::resolve::source::IndexSource;
use crate::resolve::{Note, ResolveOptions, RootRequirement, Source, resolve};
use crate::settings::Settings;
use crate::target::Target;

/// The PEP 740 provenance of every file of `lock` and of the release before each pin, verified
/// against `--trusted-root` or the embedded public-good root. `locked`: the publishers a lock
/// records for a package.
pub fn check_provenance(
    source: &dyn Source,
    lock: &Lock,
    args: &ProvenanceArgs,
    locked: &Identities<'_>,
) -> anyhow::Result<Assessment> {
    let root = match &args.trusted_root {
        Some(path) => {
            let json = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            TrustedRoot::from_json(&json).with_context(|| path.display().to_string())?
        }
        None => TrustedRoot::public_good()?,
    };
    Ok(assess(lock, source, &SigstoreVerifier { root: &root }, args.require_provenance, locked))
}

pub struct Session {
    pub settings: Settings,
    pub target: Target,
    /// Shared with the source's background fetches.
    pub client: Arc<IndexClient>,
    /// The client build requirements are resolved with (see [`IndexClient::without_builder`]),
    /// shared by the builder and `--build-constraints`, which finds the pages the builds fetched.
    pub build_client: Arc<IndexClient>,
}

impl Session {
    /// `inputs`: index options found in requirements files, ranked below the command line.
    pub fn new(index: &IndexArgs, target: Option<&TargetArgs>, inputs: Option<&Inputs>) -> anyhow::Result<Self> {
        let settings = Settings::from_args(
            index,
            inputs.and_then(|i| i.index_url.as_deref()),
            inputs.map_or(&[][..], |i| &i.extra_index_urls),
        )?;
        let python_version = target.and_then(|t| t.python_version.as_deref());
        let target = match target {
            Some(args) if args.universal => Target::universal(python_version)?,
            _ => Target::from_options(python_version, target.and_then(|t| t.python_platform.as_deref()))?,
        };
        let client = Arc::new(settings.index_client()?);
        // The process ends when the command does. Freeing every page of a large tree (tens of
        // thousands of files) takes longer than a warm run's resolution, and buys nothing, so
        // the client and the pages it holds live until exit.
        std::mem::forget(Arc::clone(&client));
        let build_client = Arc::new(client.without_builder());
        Ok(Self { settings, target, client, build_client })
    }

    /// Lets metadata fetches build sdists (or, with `--no-build`, refuse to, by name).
    pub fn enable_builds(&mut self, args: &BuildArgs) -> anyhow::Result<()> {
        let locker = BuildLocker { client: Arc::clone(&self.build_client), jobs: self.settings.jobs };
        let options = self.settings.build_options(args, &self.target);
        self.client.set_builder(Builder::new(options, Box::new(locker), self.settings.cache.clone()));
        Ok(())
    }

    /// What each package of `lock` that the target installs from its sdist builds with
    /// (`(name, version, build system)`, lock order); nothing when builds are off. The
    /// backend's `get_requires_for_build_wheel` runs for sdists not built during resolution.
    /// Not `strict`: one that cannot be found is left out, with a warning.
    pub fn build_systems(&self, lock: &Lock, strict: bool) -> anyhow::Result<Vec<(String, String, BuildSystem)>> {
        // `--no-build`: no backend runs, not even to report what it builds with.
        let Some(builder) = self.client.builder().filter(|b| !b.no_build()) else { return Ok(Vec::new()) };
        let mut found = Vec::new();
        for package in
            lock.packages.iter().filter(|p| target_file(p, &self.target, Formats::ANY) == TargetFile::SdistOnly)
        {
            let sdist =
                package.files.iter().find_map(|file| match DistFilename::parse(&file.filename, &package.name) {
                    Some(DistFilename::Sdist(sdist)) => Some((file, sdist)),
                    _ => None,
                });
            let Some((file, sdist)) = sdist else { continue };
            match builder.build_system(self.client.http(), file, &sdist) {
                Ok(build) => found.push((package.name.to_string(), package.version.to_string(), build)),
                Err(error) if strict => return Err(error.into()),
                // A report without the build system beats no report.
                Err(error) => eprintln!("hashlock: warning: {}", escape(&error.to_string())),
            }
        }
        Ok(found)
    }

    /// With `--offline` only the disk is read: more threads than cores would add allocator
    /// arenas (peak RSS) and no speed.
    pub fn source(&self) -> IndexSource {
        let offline = self.client.cache().is_some_and(|cache| cache.freshness() == Freshness::Offline);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let jobs = if offline { self.settings.jobs.min(cores) } else { self.settings.jobs };
        IndexSource::new(Arc::clone(&self.client), self.target.clone(), jobs)
    }

    /// The indexes as headers and reports name them (see [`crate::index::config::IndexChoice::describe`]).
    /// `index-shadowing` for the packages of `lock` that more than one index was asked for
    /// and serves: every one under the unsafe strategies and in `audit`, none otherwise.
    pub fn shadowing(&self, lock: &Lock) -> Vec<Finding> {
        let names: BTreeSet<&PackageName> = lock.packages.iter().map(|p| &p.name).collect();
        names.into_iter().filter_map(|name| index_shadowing(&*self.client.project(name).ok()?)).collect()
    }

    /// Fails when a cached page turned out damaged as the command read it: the answer would
    /// miss that page's files. The entries are removed, so running again fetches them.
    pub fn check_cache(&self) -> anyhow::Result<()> {
        let damaged = self.client.damaged_pages();
        if damaged.is_empty() {
            return Ok(());
        }
        let paths: Vec<String> = damaged.iter().map(|path| path.display().to_string()).collect();
        bail!("the cached page {} is damaged, and has been removed: run the command again", paths.join(", "))
    }

    pub fn indexes(&self) -> Vec<String> {
        self.settings.index.describe()
    }

    /// With `--verbose`: what the run cost, on stderr (stdout stays the file or report).
    pub fn summarize(&self, source: &IndexSource, lock: &Lock, started: Instant, verbose: bool) {
        if !verbose {
            return;
        }
        if let Some(origin) = &self.settings.index.pip_default_origin {
            eprintln!("hashlock: {PIP_DEFAULT_NAME}, {}", escape(origin));
        }
        let (http, hits, waiting) = (self.client.http().stats(), self.client.cache_hits(), source.stats());
        let wall = started.elapsed();
        eprintln!(
            "hashlock: {}, {}; {}, {} KiB, {}; cache hits: {}, {} metadata; \
             {:.2}s, of which {:.2}s waiting for the index ({})",
            count(lock.packages.len() as u64, "package", "packages"),
            count(lock.packages.iter().map(|p| p.pip_hashes().len() as u64).sum(), "hash", "hashes"),
            count(http.requests, "request", "requests"),
            http.bytes / 1024,
            count(http.retries, "retry", "retries"),
            count(hits.pages, "page", "pages"),
            hits.metadata,
            wall.as_secs_f64(),
            waiting.waited.as_secs_f64(),
            count(waiting.waits, "wait", "waits"),
        );
        let by_kind: Vec<String> = RequestKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let traffic = http.of(kind);
                let requests = count(traffic.requests, "request", "requests");
                (traffic.requests > 0).then(|| format!("{} {} KiB ({requests})", kind.name(), traffic.bytes / 1024))
            })
            .collect();
        if !by_kind.is_empty() {
            eprintln!("hashlock: bytes: {}", by_kind.join(", "));
        }
        if let Some(median) = median_in_flight(&http.in_flight_time) {
            let idle = wall.saturating_sub(http.busy()).as_secs_f64() / wall.as_secs_f64();
            eprintln!(
                "hashlock: in flight: median {median} (--jobs {}), idle {:.0}% of the run",
                self.settings.jobs,
                idle * 100.0
            );
        }
    }

    /// Resolves the inputs and pins the result, with a progress display. Says on stderr which
    /// root is older than its newest release and why (unless `--quiet`), and which newer
    /// versions were left out and why (with `--verbose`).
    pub fn lock(&self, source: &IndexSource, inputs: &Inputs, output: &OutputArgs) -> anyhow::Result<Lock> {
        let options = ResolveOptions { prereleases: inputs.pre };
        let resolution = with_progress(
            output.quiet,
            || source.status(),
            || resolve(source, &inputs.requirements, &inputs.constraints, &self.target, &options),
        );
        // Before the resolution's own error: one found on a damaged page would mislead.
        self.check_cache()?;
        let resolution = resolution?;
        for note in &resolution.notes {
            let shown = match note {
                Note::Excluded { .. } => output.verbose,
                Note::Stale { .. } => !output.quiet,
            };
            if shown {
                eprintln!("hashlock: note: {}", escape(&note.to_string()));
            }
        }
        Ok(Lock::from_resolution(&resolution, |name| source.project(name))?)
    }
}

/// Resolves build requirements for `target` with `client`: every pin must have a wheel for
/// it and a hash pip accepts.
pub fn lock_build_requirements(
    client: &Arc<IndexClient>,
    jobs: usize,
    requirements: &[Requirement],
    target: &Target,
) -> anyhow::Result<Lock> {
    let source = IndexSource::new(Arc::clone(client), target.clone(), jobs);
    let roots: Vec<RootRequirement> =
        requirements.iter().map(|r| RootRequirement { requirement: r.clone(), origin: String::new() }).collect();
    let resolution = resolve(&source, &roots, &[], target, &ResolveOptions::default())?;
    let mut lock = Lock::from_resolution(&resolution, |name| source.project(name))?;
    for package in &mut lock.packages {
        if target_file(package, target, Formats::ANY) != TargetFile::Wheel {
            bail!(
                "{} {} has no wheel for {}, and hashlock does not build build requirements",
                package.name,
                package.version,
                target.describe()
            );
        }
        // Build requirements are installed from wheels only: an sdist's hash would let pip
        // build one, with build requirements of its own that nothing pins.
        package.files.retain(|f| DistFilename::parse(&f.filename, &package.name).is_some_and(|d| d.is_wheel()));
    }
    if let Some(file) = lock.unhashed_files().first() {
        bail!("{} {}: {} has no hash pip --require-hashes accepts", file.package, file.version, file.filename);
    }
    Ok(lock)
}

/// [`LockBuildRequirements`] for the builder: the wheel of each pin that the build
/// interpreter installs, fetched with the build client.
struct BuildLocker {
    client: Arc<IndexClient>,
    jobs: usize,
}

impl LockBuildRequirements for BuildLocker {
    fn lock(&self, requirements: &[Requirement], target: &Target) -> Result<Vec<BuildWheel>, String> {
        let lock =
            lock_build_requirements(&self.client, self.jobs, requirements, target).map_err(|e| format!("{e:#}"))?;
        lock.packages
            .iter()
            .map(|package| {
                let best = best_wheel(package, target);
                let file = best.ok_or_else(|| {
                    format!("{} {}: no wheel for {}", package.name, package.version, target.describe())
                })?;
                let sha256 =
                    file.sha256().ok_or_else(|| format!("{}: the index publishes no sha256", file.filename))?;
                Ok(BuildWheel {
                    name: package.name.clone(),
                    required_by: package.required_by.iter().filter_map(|by| PackageName::from_str(by).ok()).collect(),
                    filename: file.filename.clone(),
                    url: file.url.clone(),
                    sha256: sha256.to_ascii_lowercase(),
                })
            })
            .collect()
    }

    fn download(&self, wheel: &BuildWheel) -> Result<std::fs::File, String> {
        let url = reqwest::Url::parse(&wheel.url).map_err(|e| format!("{}: invalid URL: {e}", wheel.filename))?;
        let (file, digest) =
            self.client.http().download(&url, MAX_DOWNLOAD_SIZE, spool_hashed).map_err(|e| e.to_string())?;
        if digest != wheel.sha256 {
            return Err(format!("{} has sha256 {digest}, the index says {}", wheel.filename, wheel.sha256));
        }
        Ok(file)
    }
}

/// Writes `text` to `path` atomically, or to stdout.
pub fn emit(text: &str, path: Option<&Path>) -> anyhow::Result<()> {
    match path {
        Some(path) => write_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display())),
        None => std::io::stdout().lock().write_all(text.as_bytes()).context("cannot write to stdout"),
    }
}

/// Renders the report where asked and turns its worst finding into the exit status.
pub fn emit_report(report: &Report, options: &ReportOptions) -> anyhow::Result<ExitStatus> {
    emit_reports(std::slice::from_ref(report), options)
}

/// [`emit_report`] for the reports on several files, as one document.
pub fn emit_reports(reports: &[Report], options: &ReportOptions) -> anyhow::Result<ExitStatus> {
    let paint = Paint::for_output(options.output.as_deref());
    emit(&render_all(reports, options.format, paint), options.output.as_deref())?;
    let failed = reports.iter().any(|report| status_for(report, options.fail_on) == ExitStatus::Findings);
    Ok(if failed { ExitStatus::Findings } else { ExitStatus::Success })
}

pub fn status_for(report: &Report, fail_on: crate::check::findings::Severity) -> ExitStatus {
    match report.worst() {
        Some(worst) if worst >= fail_on => ExitStatus::Findings,
        _ => ExitStatus::Success,
    }
}

/// `.json` → JSON, `.md`/`.markdown` → Markdown, `.sarif` → SARIF, anything else → text.
pub fn format_for_path(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("json") => Format::Json,
        Some("md" | "markdown") => Format::Markdown,
        Some("sarif") => Format::Sarif,
        _ => Format::Text,
    }
}
