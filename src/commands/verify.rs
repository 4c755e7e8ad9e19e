//! `hashlock verify FILE PATH...`: local distribution files against the requirements file and
//! (unless `--offline`) the index.

use std::collections::BTreeMap;
use std::sync::Arc;

use pep508_rs::PackageName;

use crate::cli::{OutputArgs, VerifyArgs};
use crate::commands::ExitStatus;
use crate::commands::session::{Session, emit_report};
use crate::dist::{DistFile, DistFilename};
use crate::index::{IndexError, Project};
use crate::report::Report;
use crate::reqfile::{self, Entry, EntryKind};
use crate::resolve::Source;
use crate::verify::{algorithms_used, hash_files, list_files, verify};

pub fn run(args: &VerifyArgs, _output: &OutputArgs) -> anyhow::Result<ExitStatus> {
    let requirements = reqfile::parse_file(&args.file)?;
    let locals = hash_files(&list_files(&args.paths)?, &algorithms_used(&requirements))?;
    let names: Vec<&PackageName> = requirements
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Named(r) => Some(&r.name),
            _ => None,
        })
        .collect();

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
    let published = |entry: &Entry, filename: &str| -> Vec<DistFile> {
        let EntryKind::Named(requirement) = &entry.kind else { return Vec::new() };
        let Some(project) = projects.get(&requirement.name) else { return Vec::new() };
        let named = |f: &&DistFile| f.filename == filename;
        // Only the release the filename names is decoded; every file only for a name that does not parse.
        match DistFilename::parse(filename, &requirement.name) {
            Some(parsed) => project.release(parsed.version()).files().filter(named).cloned().collect(),
            None => project.files().filter(named).cloned().collect(),
        }
    };
    let findings = verify(&requirements, &locals, session.is_some().then_some(&published));

    let indexes = session.as_ref().map(Session::indexes).unwrap_or_default();
    let checked_against =
        if session.is_some() { "the requirements file and the index" } else { "the requirements file (offline)" };
    let label = format!("{} local file(s) checked against {checked_against}", locals.len());
    emit_report(&Report::of_findings(&findings, label, indexes), &args.report)
}
