//! The Lock: pinned packages with the files of each pinned version (for hashes), who needs
//! them, and (universal mode) the marker under which they are needed. `generate` builds it
//! from a resolution; `audit` will build it from an existing requirements file.

use std::collections::BTreeSet;
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{MarkerTree, PackageName};

use crate::dist::DistFile;
use crate::index::http::redact;
use crate::index::{IndexError, Project};
use crate::resolve::Resolution;

/// Hash algorithms `pip --require-hashes` accepts, strongest last; sha256 is emitted when a
/// file has it.
pub const PIP_ALGORITHMS: [&str; 3] = ["sha256", "sha384", "sha512"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// Sorted by normalised name, then version (a universal lock may pin two versions of a
    /// name, under disjoint markers).
    pub packages: Vec<LockedPackage>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: PackageName,
    pub version: Version,
    /// PEP 508 marker under which the package is needed (true: always).
    pub marker: MarkerTree,
    /// Package names that depend on it, and root origins such as `-r requirements.in`.
    pub required_by: BTreeSet<String>,
    /// Every file of the pinned version on every index (all platforms).
    pub files: Vec<DistFile>,
    /// The filenames of the pinned version each index lists: (redacted index URL, filenames),
    /// in index order.
    pub sources: Vec<(String, BTreeSet<String>)>,
}

/// A file of a pinned version that carries no hash pip accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnhashedFile {
    pub package: PackageName,
    pub version: Version,
    pub filename: String,
    /// Algorithms it does have (e.g. `md5`), possibly none.
    pub algorithms: Vec<String>,
}

impl Lock {
    /// Pins every resolved package (with its marker, in universal mode), taking its files from
    /// the project pages.
    pub fn from_resolution(
        resolution: &Resolution,
        project: impl Fn(&PackageName) -> Result<Arc<Project>, IndexError>,
    ) -> Result<Self, IndexError> {
        let packages = resolution
            .packages
            .iter()
            .map(|resolved| {
                let project = project(&resolved.name)?;
                Ok(LockedPackage {
                    name: resolved.name.clone(),
                    version: resolved.version.clone(),
                    marker: resolved.marker.clone(),
                    required_by: resolved.required_by.clone(),
                    files: files_of_version(&project, &resolved.version),
                    sources: sources_of_version(&project, &resolved.version),
                })
            })
            .collect::<Result<Vec<_>, IndexError>>()?;
        Ok(Self { packages })
    }

    /// Files of pinned versions that pip could not check, in lock order.
    pub fn unhashed_files(&self) -> Vec<UnhashedFile> {
        self.packages
            .iter()
            .flat_map(|package| {
                package.files.iter().filter(|file| pip_hash(file).is_none()).map(|file| UnhashedFile {
                    package: package.name.clone(),
                    version: package.version.clone(),
                    filename: file.filename.clone(),
                    algorithms: file.hashes.keys().cloned().collect(),
                })
            })
            .collect()
    }
}

impl LockedPackage {
    /// The `alg:hex` values to write as `--hash` options: one per file (sha256 when present),
    /// sorted and deduplicated (indexes that agree list a file once).
    pub fn pip_hashes(&self) -> Vec<String> {
        let hashes: BTreeSet<String> =
            self.files.iter().filter_map(pip_hash).map(|(algorithm, hex)| format!("{algorithm}:{hex}")).collect();
        hashes.into_iter().collect()
    }
}

/// The hash pip should check for `file`: sha256 if published, else the strongest other
/// algorithm pip accepts; `None` when the file has no such hash.
pub fn pip_hash(file: &DistFile) -> Option<(&'static str, &str)> {
    PIP_ALGORITHMS.iter().find_map(|algorithm| file.hashes.get(algorithm).map(|hex| (*algorithm, hex.as_str())))
}

/// The files of `version` (PEP 440 equality, so `1.0` and `1.0.0` are one version).
pub fn files_of_version(project: &Project, version: &Version) -> Vec<DistFile> {
    project.release(version).files().cloned().collect()
}

/// Which index lists which files of `version`, for [`LockedPackage::sources`].
pub fn sources_of_version(project: &Project, version: &Version) -> Vec<(String, BTreeSet<String>)> {
    project
        .release(version)
        .filenames_by_index()
        .into_iter()
        .map(|(index, filenames)| (redact(index), filenames))
        .collect()
}
