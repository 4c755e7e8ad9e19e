//! `hashlock verify LOCKFILE PATH...`: local distribution files against a lockfile of any format
//! and (unless `--offline`) the index; `hashlock verify [LOCKFILE] --installed [ENV]`: an
//! installed environment against the wheels the lock and the index name.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use pep508_rs::PackageName;

use crate::check::findings::{Code, Finding};
use crate::check::installed;
use crate::check::verify::{algorithms_used, hash_files, list_files, verify};
use crate::cli::{OutputArgs, VerifyArgs};
use crate::commands::ExitStatus;
use crate::commands::session::{Session, emit_report};
use crate::dist::{DistFile, DistFilename};
use crate::index::{IndexError, Project};
use crate::lockfile::{self, Package};
use crate::report::Report;
use crate::resolve::Source;

pub fn run(args: &VerifyArgs, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    if let Some(env) = &args.installed {
        return installed(args, env.as_deref(), output);
    }
    let file = args.file.as_deref().context("a LOCKFILE is needed without --installed")?;
    let lockfile = lockfile::read(file, args.lock_format)?;
    let locals = hash_files(&list_files(&args.paths)?, &algorithms_used(&lockfile))?;
    let names: BTreeSet<&PackageName> = lockfile.packages.iter().map(|p| &p.name).collect();

    // Without --offline, the index's published hashes are the second opinion.
    let session = if args.index.cache.offline { None } else { Some(Session::new(&args.index, None, None)?) };
    let projects = match &session {
        Some(session) => fetch_projects(session, names)?,
        None => BTreeMap::new(),
    };
    let published = |package: &Package, filename: &str| -> Vec<DistFile> {
        let Some(project) = projects.get(&package.name) else { return Vec::new() };
        let named = |f: &&DistFile| f.filename == filename;
        // Only the release the filename names is decoded; every file only for a name that does not parse.
        match DistFilename::parse(filename, &package.name) {
            Some(parsed) => project.release(parsed.version()).files().filter(named).cloned().collect(),
            None => project.files().filter(named).cloned().collect(),
        }
    };
    let findings = verify(&lockfile, &locals, session.is_some().then_some(&published));
    session.as_ref().map(Session::check_cache).transpose()?;

    let indexes = session.as_ref().map(Session::indexes).unwrap_or_default();
    let lock = lockfile.format.describe();
    let checked_against =
        if session.is_some() { format!("the {lock} and the index") } else { format!("the {lock} (offline)") };
    let label = format!("{} local file(s) checked against {checked_against}", locals.len());
    emit_report(&Report::of_findings(&findings, label, indexes).about_file(file), &args.report)
}

/// The index's pages of `names`, fetched in parallel; a name the index does not know is left
/// out.
fn fetch_projects<'a>(
    session: &Session,
    names: impl IntoIterator<Item = &'a PackageName>,
) -> anyhow::Result<BTreeMap<PackageName, Arc<Project>>> {
    let names: BTreeSet<&PackageName> = names.into_iter().collect();
    let source = session.source();
    for name in &names {
        source.prefetch_project(name);
    }
    let mut projects = BTreeMap::new();
    for name in names {
        match source.project(name) {
            Ok(project) => {
                projects.insert(name.clone(), project);
            }
            Err(IndexError::NotFound { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(projects)
}

/// `verify [LOCKFILE] --installed [ENV]`: inventory, the wheel of each distribution (pages and
/// downloads in parallel, summaries cached by sha256), every file compared, unowned files
/// found, the lock's packages that are not installed reported.
fn installed(args: &VerifyArgs, env: Option<&Path>, output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let lockfile = args.file.as_deref().map(|file| lockfile::read(file, args.lock_format)).transpose()?;
    let environment = installed::inspect(&installed::interpreter_for(env))?;
    let dists = installed::inventory(&environment)?;
    let session = Session::new(&args.index, None, None)?;
    let lock_names = lockfile.iter().flat_map(|l| l.packages.iter().map(|p| &p.name));
    let projects = fetch_projects(&session, dists.iter().map(|d| &d.name).chain(lock_names))?;
    let paged = started.elapsed();
    let plans: Vec<installed::Planned> = dists
        .iter()
        .map(|dist| {
            let published: Option<Vec<DistFile>> =
                projects.get(&dist.name).map(|p| p.release(&dist.version).files().cloned().collect());
            installed::plan(&environment, dist, lockfile.as_ref(), published.as_deref())
        })
        .collect();

    // Downloads on a pool sized for I/O, not for the two cores.
    let candidates: Vec<installed::Candidate> = plans.iter().flat_map(|p| p.candidates.clone()).collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(session.settings.jobs.clamp(1, 16)).build()?;
    let client = &session.client;
    let fetched: Vec<Result<installed::WheelSummary, installed::FetchError>> =
        pool.install(|| candidates.par_iter().map(|c| installed::fetch_summary(client, c)).collect());
    let mut summaries: BTreeMap<String, installed::WheelSummary> = BTreeMap::new();
    let mut findings: Vec<Finding> = Vec::new();
    for (candidate, result) in candidates.iter().zip(fetched) {
        match result {
            Ok(summary) => {
                summaries.insert(candidate.sha256.clone(), summary);
            }
            Err(installed::FetchError::Http(error)) => return Err(error.into()),
            Err(error) => findings.push(Finding::new(Code::HashMismatch, None, error.to_string())),
        }
    }

    let fetched_at = started.elapsed();
    let (mut files, mut verified) = (0, 0);
    let mut owned: HashSet<PathBuf> = HashSet::new();
    for (dist, plan) in dists.iter().zip(plans) {
        findings.extend(plan.findings);
        let wheels: Vec<&installed::WheelSummary> =
            plan.candidates.iter().filter_map(|c| summaries.get(c.sha256.as_str())).collect();
        // Several candidates (build tags, or the lock and the index naming different wheels):
        // the one this installation matches best.
        let judged = match wheels.is_empty() {
            true => installed::judge(&environment, dist, None),
            false => {
                verified += 1;
                let all = wheels.into_iter().map(|w| installed::judge(&environment, dist, Some(w)));
                all.min_by_key(|j| j.findings.len()).unwrap_or_default()
            }
        };
        files += judged.files;
        owned.extend(judged.owned);
        findings.extend(judged.findings);
    }
    findings.extend(installed::unowned(&environment, &owned));
    if let Some(lock) = &lockfile {
        findings.extend(installed::not_installed(&environment, lock, &dists));
    }
    findings.sort();

    let against = match &lockfile {
        Some(lock) => format!("the {} and the index", lock.format.describe()),
        None => "the index".to_string(),
    };
    let label = format!(
        "{} distribution(s) in {} ({verified} verified against {against}), {files} file(s) checked",
        dists.len(),
        environment.prefix.display()
    );
    if output.verbose {
        let http = session.client.http().stats();
        eprintln!(
            "hashlock: {} wheel(s) to compare with; {} requests ({} KiB); {:.2}s: pages {:.2}s, wheels {:.2}s, files {:.2}s",
            candidates.len(),
            http.requests,
            http.bytes / 1024,
            started.elapsed().as_secs_f64(),
            paged.as_secs_f64(),
            (fetched_at - paged).as_secs_f64(),
            (started.elapsed() - fetched_at).as_secs_f64(),
        );
    }
    let report = Report::of_findings(&findings, label, session.indexes());
    let report = match args.file.as_deref() {
        Some(lock) => report.about_file(lock),
        None => report,
    };
    session.check_cache()?;
    emit_report(&report, &args.report)
}
