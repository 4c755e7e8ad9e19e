//! Verifying local distribution files (e.g. from `pip download`) against a requirements file
//! and against what the index publishes for the same filenames.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::dist::{DistFile, DistFilename};
use crate::findings::{Code, Finding};
use crate::reqfile::{Entry, EntryKind, RequirementsFile};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalFile {
    pub path: PathBuf,
    pub filename: String,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct LocalFileError {
    pub path: String,
    pub source: std::io::Error,
}

/// The files named, and the files directly inside the directories named, sorted.
pub fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LocalFileError> {
    fn error(path: &Path) -> impl Fn(std::io::Error) -> LocalFileError + '_ {
        move |source| LocalFileError { path: path.display().to_string(), source }
    }
    let mut files = Vec::new();
    for path in paths {
        if path.metadata().map_err(error(path))?.is_dir() {
            for entry in std::fs::read_dir(path).map_err(error(path))? {
                let entry = entry.map_err(error(path))?;
                if entry.file_type().map_err(error(path))?.is_file() {
                    files.push(entry.path());
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// sha256 of each file, streamed in 64 KiB blocks, files hashed in parallel.
pub fn hash_files(paths: &[PathBuf]) -> Result<Vec<LocalFile>, LocalFileError> {
    paths
        .par_iter()
        .map(|path| {
            let error = |source| LocalFileError { path: path.display().to_string(), source };
            let mut file = File::open(path).map_err(error)?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let read = file.read(&mut buffer).map_err(error)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            Ok(LocalFile {
                filename: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                path: path.clone(),
                sha256: format!("{:x}", hasher.finalize()),
            })
        })
        .collect()
}

/// Findings for local files: `local-mismatch` (its sha256 is not among the requirement's
/// hashes; the message says whether the index agrees with the file or with nothing),
/// `uncovered-file` (no requirement for it), `no-local-file` (a requirement with no file).
/// `published`: the index's files for a filename's project, when checking against the index.
pub fn verify(
    requirements: &RequirementsFile,
    locals: &[LocalFile],
    published: &dyn Fn(&Entry) -> Vec<DistFile>,
) -> Vec<Finding> {
    let pinned: Vec<(&Entry, &pep508_rs::Requirement)> = requirements
        .entries
        .iter()
        .filter(|e| !e.constraint)
        .filter_map(|e| match &e.kind {
            EntryKind::Named(requirement) => Some((e, requirement)),
            _ => None,
        })
        .collect();
    let mut findings = Vec::new();
    let mut covered: BTreeSet<usize> = BTreeSet::new();
    for local in locals {
        let owner = pinned.iter().enumerate().find_map(|(i, (entry, requirement))| {
            let parsed = DistFilename::parse(&local.filename, &requirement.name)?;
            requirement
                .version_or_url
                .as_ref()
                .is_none_or(|v| match v {
                    pep508_rs::VersionOrUrl::VersionSpecifier(specifiers) => specifiers.contains(parsed.version()),
                    pep508_rs::VersionOrUrl::Url(_) => false,
                })
                .then_some((i, *entry, *requirement))
        });
        let Some((index, entry, requirement)) = owner else {
            findings.push(Finding::new(
                Code::UncoveredFile,
                None,
                format!("{}: no requirement in the file covers this file", local.path.display()),
            ));
            continue;
        };
        covered.insert(index);
        let in_file = entry.hashes.iter().any(|h| h.algorithm == "sha256" && h.hex.eq_ignore_ascii_case(&local.sha256));
        if in_file {
            continue;
        }
        let index_files = published(entry);
        let on_index =
            index_files.iter().find(|f| f.filename == local.filename).and_then(DistFile::sha256).map(str::to_string);
        let verdict = match on_index {
            Some(hex) if hex == local.sha256 => "it matches the index, so the requirements file is stale".to_string(),
            Some(_) => {
                "it matches neither the requirements file nor the index: the file was altered or corrupted".to_string()
            }
            None => "it matches no hash in the requirements file".to_string(),
        };
        findings.push(
            Finding::new(
                Code::LocalMismatch,
                Some(&requirement.name),
                format!(
                    "{}: sha256 {} is not a hash of {}: {verdict}",
                    local.path.display(),
                    local.sha256,
                    requirement
                ),
            )
            .at(&entry.location),
        );
    }
    for (i, (entry, requirement)) in pinned.iter().enumerate() {
        if !covered.contains(&i) {
            findings.push(
                Finding::new(Code::NoLocalFile, Some(&requirement.name), format!("no local file for {requirement}"))
                    .at(&entry.location),
            );
        }
    }
    findings.sort();
    findings
}
