//! Dependency resolution with PubGrub over PEP 440 versions, for one [`Target`].

pub mod candidates;
pub mod provider;
pub mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName, Requirement};

use pubgrub::{DefaultStringReporter, PubGrubError, Reporter};

use crate::index::{IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::target::Target;
use provider::{Package, Provider};

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
    #[error("no solution: {0}")]
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
    let provider = Provider::new(source, requirements, constraints, target, options);
    match pubgrub::resolve(&provider, Package::Root, provider::root_version()) {
        Ok(solution) => collect(&provider, solution.into_iter().collect()),
        // The "no versions" leaves stay: they say which range the index cannot satisfy.
        Err(PubGrubError::NoSolution(tree)) => {
            Err(ResolveError::NoSolution(explain(&DefaultStringReporter::report(&tree))))
        }
        Err(PubGrubError::ErrorRetrievingDependencies { source, .. })
        | Err(PubGrubError::ErrorChoosingVersion { source, .. })
        | Err(PubGrubError::ErrorInShouldCancel(source)) => Err(source),
    }
}

/// PubGrub's report with the root's placeholder version taken out.
fn explain(report: &str) -> String {
    let root = provider::ROOT_NAME;
    report
        .replace(&format!("{root} {} depends", provider::root_version()), &format!("{root} depend"))
        .replace(&format!("{root} {} is forbidden", provider::root_version()), &format!("{root} cannot be satisfied"))
}

/// Turns PubGrub's chosen `(package, version)` pairs into base packages with their extras and
/// who required them.
fn collect(provider: &Provider, solution: Vec<(Package, Version)>) -> Result<Resolution, ResolveError> {
    let mut packages = BTreeMap::new();
    for (package, version) in &solution {
        if let Package::Base(name) = package {
            // Every chosen version had its dependencies read, so this is a cache hit.
            let metadata = provider.metadata(name, version)?.map_err(ResolveError::NoSolution)?;
            let resolved = ResolvedPackage {
                name: name.clone(),
                version: version.clone(),
                extras: BTreeSet::new(),
                required_by: BTreeSet::new(),
                metadata,
            };
            packages.insert(name.clone(), resolved);
        }
    }
    for (package, version) in &solution {
        let dependent = match package {
            Package::Root => None,
            Package::Base(name) => Some(name),
            Package::Extra(name, extra) => {
                if let Some(base) = packages.get_mut(name) {
                    base.extras.insert(extra.clone());
                }
                Some(name)
            }
        };
        let Some(dependent) = dependent else { continue };
        for dependency in provider.edges(package, version) {
            if let Some(resolved) = packages.get_mut(&dependency) {
                resolved.required_by.insert(dependent.to_string());
            }
        }
    }
    for root in provider.active_root_requirements().filter(|r| !r.origin.is_empty()) {
        if let Some(resolved) = packages.get_mut(&root.requirement.name) {
            resolved.required_by.insert(root.origin.clone());
        }
    }
    Ok(Resolution { packages })
}

#[cfg(test)]
mod tests;
