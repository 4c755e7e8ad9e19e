//! Dependency resolution with PubGrub over PEP 440 versions, for one [`Target`].

pub mod provider;
pub mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName, Requirement};

use crate::index::{IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::target::Target;

/// Where the resolver gets candidates and their metadata. [`source::IndexSource`] is the real
/// one (index + metadata fetch + prefetch on an I/O pool); tests may use an in-memory one.
pub trait Source: Sync {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError>;
    /// Metadata for `version` of `project`, chosen from its files by the target's preference
    /// (best wheel first, then sdist).
    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError>;
    /// A hint that `name` will likely be needed soon (fetch its page in the background).
    fn prefetch_project(&self, _name: &PackageName) {}
    /// A hint that this version's metadata will likely be needed soon.
    fn prefetch_metadata(&self, _project: &Arc<Project>, _version: &Version) {}
}

#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// `--pre`: allow pre-releases everywhere. Otherwise pip's rule: only where a specifier
    /// names one, or when a package has nothing but pre-releases.
    pub prereleases: bool,
}

/// A requirement of the root, with where it came from (for `# via`).
#[derive(Clone, Debug)]
pub struct RootRequirement {
    pub requirement: Requirement,
    /// `-r requirements.in`; empty for the command line (nothing to annotate).
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPackage {
    pub name: PackageName,
    pub version: Version,
    /// Extras some dependent asked for.
    pub extras: BTreeSet<ExtraName>,
    /// Who required it: package names, or root origins (`-r requirements.in`).
    pub required_by: BTreeSet<String>,
    pub metadata: Arc<Metadata>,
}

#[derive(Clone, Debug)]
pub struct Resolution {
    pub packages: BTreeMap<PackageName, ResolvedPackage>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// No solution: PubGrub's derivation tree, in words.
    #[error("no solution:\n{0}")]
    NoSolution(String),
}

/// Resolves `requirements` (plus `constraints`, which limit versions without adding
/// packages) for `target`, newest versions first.
pub fn resolve(
    source: &dyn Source,
    requirements: &[RootRequirement],
    constraints: &[Requirement],
    target: &Target,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    let _ = (source, requirements, constraints, target, options);
    todo!()
}
