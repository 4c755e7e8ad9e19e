//! `hashlock verify LOCKFILE PATH...`: local distribution files against a lockfile of any format
//! and (unless `--offline`) the index.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep508_rs::PackageName;

use crate::check::verify::{algorithms_used, hash_files, list_files, verify};
use crate::cli::{OutputArgs, VerifyArgs};
use crate::commands::ExitStatus;
use crate::commands::session::{Session, emit_report};
use crate::dist::{DistFile, DistFilename};
use crate::index::{IndexError, Project};
use crate::lockfile::{self, Package};
use crate::report::Report;
use crate::resolve::Source;

pub fn run(args: &VerifyArgs, _output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let lockfile = lockfile::read(&args.file, args.lock_format)?;
    let locals = hash_files(&list_files(&args.paths)?, &algorithms_used(&lockfile))?;
    let names: BTreeSet<&PackageName> = lockfile.packages.iter().map(|p| &p.name).collect();

    // Without --offline, the index's published hashes are the second opinion.
    let session = if args.index.cache.offline { None } else { Some(Session::new(&args.index, None, None)?) };
    let mut projects: BTreeMap<PackageName, Arc<Project>> = BTreeMap::new();
    if let Some(session) = &session {
        let source = session.source();
        for name in &names {
            source.prefetch_project(name);
        }
        for name in names {
            match source.project(name) {
                Ok(project) => {
                    projects.insert(name.clone(), project);
                }
                Err(IndexError::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
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

    let indexes = session.as_ref().map(Session::indexes).unwrap_or_default();
    let lock = lockfile.format.describe();
    let checked_against =
        if session.is_some() { format!("the {lock} and the index") } else { format!("the {lock} (offline)") };
    let label = format!("{} local file(s) checked against {checked_against}", locals.len());
    emit_report(&Report::of_findings(&findings, label, indexes).about_file(&args.file), &args.report)
}
