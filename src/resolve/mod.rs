//! Dependency resolution with PubGrub over PEP 440 versions, for one [`Target`] or, universally,
//! for every environment (see [`universal`]).

pub mod candidates;
mod explain;
pub mod markers;
pub mod provider;
pub mod source;
mod universal;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{Bound, Deref, Index};
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, MarkerTree, PackageName, Requirement};

use pubgrub::PubGrubError;

use crate::dist::DistFile;
use crate::index::provenance::Fetched;
use crate::index::{IndexError, Project};
use crate::metadata::{Metadata, MetadataError};
use crate::target::Target;
pub use explain::Note;
use provider::{Edge, Failure, Package, Provider, Scope};

/// Where the resolver gets candidates and their metadata (and a check, files' provenance).
/// [`source::IndexSource`] is the real one (index + metadata fetch + prefetch on an I/O pool);
/// tests may use an in-memory one.
pub trait Source: Sync {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError>;
    /// Metadata for `version` of `project`, chosen from its files by the target's preference
    /// (best wheel first, then sdist).
    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError>;
    /// The versions of `project` usable on `target`, newest first; a source may remember them.
    fn candidates(&self, project: &Arc<Project>, target: &Target) -> Arc<candidates::Candidates> {
        Arc::new(candidates::Candidates::new(Arc::clone(project), target))
    }
    /// A hint that `name` will likely be needed soon (fetch its page in the background).
    fn prefetch_project(&self, _name: &PackageName) {}
    /// A hint that this version's metadata will likely be needed soon.
    fn prefetch_metadata(&self, _project: &Arc<Project>, _version: &Version) {}
    /// The PEP 740 provenance its index lists for `file`; an in-memory source (tests,
    /// benchmarks) has none.
    fn provenance(&self, _file: &DistFile) -> Fetched {
        Ok(None)
    }
    /// A hint that this file's provenance will be needed soon.
    fn prefetch_provenance(&self, _file: &DistFile) {}
}

#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// `--pre`: allow pre-releases everywhere. Otherwise only where a root requirement or a
    /// constraint names one, or where no final release is in the range asked for.
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
    /// Where it is needed (universal mode), simplified for the target's Python range; `TRUE`
    /// for a concrete target.
    pub marker: MarkerTree,
}

#[derive(Clone, Debug)]
pub struct Resolution {
    pub packages: Pins,
    /// What the user should hear about on stderr: newer versions left out, and why.
    pub notes: Vec<Note>,
}

/// Resolved packages sorted by name, then version; a name appears more than once only when a
/// universal resolution forked, with disjoint markers. `pins[&name]` is the first pin of `name`
/// (and panics when there is none, as a map does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pins(Vec<ResolvedPackage>);

impl Pins {
    /// The first pin of `name`.
    pub fn named(&self, name: &PackageName) -> Option<&ResolvedPackage> {
        self.0.iter().find(|p| p.name == *name)
    }
}

impl Deref for Pins {
    type Target = [ResolvedPackage];

    fn deref(&self) -> &[ResolvedPackage] {
        &self.0
    }
}

impl Index<&PackageName> for Pins {
    type Output = ResolvedPackage;

    fn index(&self, name: &PackageName) -> &ResolvedPackage {
        self.named(name).unwrap_or_else(|| panic!("{name} is not in the resolution"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// A candidate whose metadata cannot be had (see [`provider::Provider::metadata`]).
    #[error("{name} {version}: cannot use its metadata: {error}")]
    Unusable { name: PackageName, version: Version, error: MetadataError },
    /// No solution: PubGrub's derivation tree, in words.
    #[error("no solution: {0}")]
    NoSolution(String),
}

/// Resolves `requirements` (plus `constraints`, which limit versions without adding
/// packages) for `target`, newest versions first. A universal target gets every package any
/// of its environments needs, each with the marker under which it is needed.
pub fn resolve(
    source: &dyn Source,
    requirements: &[RootRequirement],
    constraints: &[Requirement],
    target: &Target,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    if target.is_universal() {
        return universal::resolve(source, requirements, constraints, target, options);
    }
    let scope = Scope::Concrete(target.marker_environment());
    let solved = solve(source, requirements, constraints, target, scope, options).map_err(|failure| match failure {
        Failure::Resolve(error) => error,
        // A concrete scope never forks, and `solve` restarts itself: say so rather than panic.
        other @ (Failure::Fork(_) | Failure::Restart(_)) => ResolveError::NoSolution(format!("unexpected: {other}")),
    })?;
    Ok(merge(vec![solved], &target.lowest_python()))
}

/// One PubGrub run: the chosen versions, and who depends on whom under which marker.
struct Solved {
    /// The scope's marker (`TRUE` when concrete): where the root is.
    scope: MarkerTree,
    versions: HashMap<Package, Version>,
    edges: HashMap<Package, Vec<Edge>>,
    metadata: HashMap<PackageName, Arc<Metadata>>,
    /// Root origins (`-r requirements.in`) per requirement name.
    origins: Vec<(PackageName, String)>,
    notes: Vec<Note>,
}

fn solve(
    source: &dyn Source,
    requirements: &[RootRequirement],
    constraints: &[Requirement],
    target: &Target,
    scope: Scope,
    options: &ResolveOptions,
) -> Result<Solved, Failure> {
    let scope_marker = match &scope {
        Scope::Concrete(_) => MarkerTree::TRUE,
        Scope::Universal(marker) => marker.clone(),
    };
    let provider = Provider::new(source, requirements, constraints, target, scope, options);
    // Each restart defers one more package, so there are at most as many as packages.
    let solution = loop {
        match pubgrub::resolve(&provider, Package::Root, provider::root_version()) {
            Ok(solution) => break solution,
            Err(PubGrubError::NoSolution(tree)) => {
                return Err(ResolveError::NoSolution(explain::conflict(&tree, &provider)).into());
            }
            Err(PubGrubError::ErrorChoosingVersion { source: Failure::Restart(_), .. }) => provider.restart(),
            Err(PubGrubError::ErrorRetrievingDependencies { source, .. })
            | Err(PubGrubError::ErrorChoosingVersion { source, .. })
            | Err(PubGrubError::ErrorInShouldCancel(source)) => return Err(source),
        }
    };
    let mut solved = Solved {
        scope: scope_marker,
        versions: HashMap::new(),
        edges: HashMap::new(),
        metadata: HashMap::new(),
        origins: Vec::new(),
        notes: explain::notes(&solution, &provider, options.prereleases),
    };
    for (package, version) in solution {
        if let Package::Base(name) = &package {
            // Every chosen version had its dependencies read, so this is a cache hit.
            let metadata = provider.metadata(name, &version)?.map_err(ResolveError::NoSolution)?;
            solved.metadata.insert(name.clone(), metadata);
        }
        solved.edges.insert(package.clone(), provider.edges(&package, &version));
        solved.versions.insert(package, version);
    }
    for (root, _) in provider.active_root_requirements().filter(|(r, _)| !r.origin.is_empty()) {
        solved.origins.push((root.requirement.name.clone(), root.origin.clone()));
    }
    Ok(solved)
}

/// Turns the runs (one, or one per fork) into base packages: each with the extras asked for,
/// who required it, and the marker under which it is reached (OR over the runs that chose
/// this version), simplified for Python >= `lowest`.
fn merge(runs: Vec<Solved>, lowest: &Version) -> Resolution {
    let mut merged: BTreeMap<(PackageName, Version), ResolvedPackage> = BTreeMap::new();
    let mut notes: Vec<Note> = Vec::new();
    for run in runs {
        for note in &run.notes {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
        let reached = markers::reachability(&Package::Root, run.scope.clone(), &run.edges);
        for (package, marker) in &reached {
            let Package::Base(name) = package else { continue };
            let (Some(version), Some(metadata)) = (run.versions.get(package), run.metadata.get(name)) else { continue };
            let entry = merged.entry((name.clone(), version.clone())).or_insert_with(|| ResolvedPackage {
                name: name.clone(),
                version: version.clone(),
                extras: BTreeSet::new(),
                required_by: BTreeSet::new(),
                metadata: metadata.clone(),
                marker: MarkerTree::FALSE,
            });
            entry.marker.or(marker.clone());
        }
        for (dependent, edges) in &run.edges {
            if !reached.contains_key(dependent) {
                continue;
            }
            for (child, _) in edges {
                let (Some(name), Some(version)) = (child.name(), run.versions.get(child)) else { continue };
                let Some(entry) = merged.get_mut(&(name.clone(), version.clone())) else { continue };
                if let Package::Extra(_, extra) = child {
                    entry.extras.insert(extra.clone());
                }
                if let Some(by) = dependent.name().filter(|by| *by != name) {
                    entry.required_by.insert(by.to_string());
                }
            }
        }
        for (name, origin) in &run.origins {
            let version = run.versions.get(&Package::Base(name.clone()));
            if let Some(entry) = version.and_then(|v| merged.get_mut(&(name.clone(), v.clone()))) {
                entry.required_by.insert(origin.clone());
            }
        }
    }
    let packages = merged
        .into_values()
        .map(|mut package| {
            package.marker = package.marker.simplify_python_versions(Bound::Included(lowest), Bound::Unbounded);
            package
        })
        .collect();
    Resolution { packages: Pins(packages), notes }
}

#[cfg(test)]
pub(crate) mod tests;
