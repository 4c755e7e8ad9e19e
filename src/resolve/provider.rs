//! The PubGrub `DependencyProvider`: packages are the root, a distribution, or a
//! distribution with an extra (which depends on its base at the same version).

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, PackageName, Requirement, VersionOrUrl};
use pubgrub::{Dependencies, DependencyProvider, PackageResolutionStatistics, Ranges};

use super::candidates::{Candidate, candidates, likely_pick};
use super::{ResolveError, ResolveOptions, RootRequirement, Source};
use crate::index::Project;
use crate::metadata::{Metadata, MetadataError};
use crate::target::Target;

/// How the root package reads in PubGrub's explanations.
pub(super) const ROOT_NAME: &str = "your requirements";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Package {
    /// The requirements being locked; its only version is [`root_version`].
    Root,
    Base(PackageName),
    /// `name[extra]`: the extra's own dependencies plus `name` at the same version.
    Extra(PackageName, ExtraName),
}

impl Package {
    fn name(&self) -> Option<&PackageName> {
        match self {
            Self::Root => None,
            Self::Base(name) | Self::Extra(name, _) => Some(name),
        }
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => f.write_str(ROOT_NAME),
            Self::Base(name) => write!(f, "{name}"),
            Self::Extra(name, extra) => write!(f, "{name}[{extra}]"),
        }
    }
}

pub fn root_version() -> Version {
    Version::new([0])
}

type Deps = Vec<(Package, Ranges<Version>)>;

/// What the provider has learnt so far; PubGrub drives it from one thread.
#[derive(Default)]
struct State {
    projects: HashMap<PackageName, (Arc<Project>, Rc<[Candidate]>)>,
    metadata: HashMap<(PackageName, Version), Arc<Metadata>>,
    /// Packages where some specifier names a pre-release (pip then allows pre-releases).
    prerelease_named: HashSet<PackageName>,
    /// Versions named by `==`/`===`: the only way a yanked version can be chosen (PEP 592).
    pinned: HashMap<PackageName, HashSet<Version>>,
    /// Base names each chosen `(package, version)` depends on, for `required_by`.
    edges: HashMap<(Package, Version), Vec<PackageName>>,
    /// The version of each base whose dependencies were asked for last: extras prefer it, which
    /// spares trying every newer version of `name[extra]` against an already chosen `name`.
    last_base: HashMap<PackageName, Version>,
}

pub struct Provider<'a> {
    source: &'a dyn Source,
    requirements: &'a [RootRequirement],
    env: MarkerEnvironment,
    python: Version,
    prereleases: bool,
    /// Per name, the intersection of the constraints active on the target.
    constraints: HashMap<PackageName, Ranges<Version>>,
    target: &'a Target,
    state: RefCell<State>,
}

impl<'a> Provider<'a> {
    pub fn new(
        source: &'a dyn Source,
        requirements: &'a [RootRequirement],
        constraints: &[Requirement],
        target: &'a Target,
        options: &ResolveOptions,
    ) -> Self {
        let provider = Self {
            source,
            requirements,
            env: target.marker_environment(),
            python: target.python_full_version(),
            prereleases: options.prereleases,
            constraints: HashMap::new(),
            target,
            state: RefCell::new(State::default()),
        };
        let mut limits: HashMap<PackageName, Ranges<Version>> = HashMap::new();
        for constraint in constraints.iter().filter(|c| c.evaluate_markers(&provider.env, &[])) {
            if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &constraint.version_or_url {
                provider.note_specifiers(&constraint.name, specifiers);
                let range = Ranges::from(specifiers.clone());
                let limit = limits.entry(constraint.name.clone()).or_insert_with(Ranges::full);
                *limit = limit.intersection(&range);
            }
        }
        for requirement in provider.active_root_requirements() {
            source.prefetch_project(&requirement.requirement.name);
        }
        Self { constraints: limits, ..provider }
    }

    pub(super) fn active_root_requirements(&self) -> impl Iterator<Item = &'a RootRequirement> + '_ {
        self.requirements.iter().filter(|r| r.requirement.evaluate_markers(&self.env, &[]))
    }

    /// Remembers what pip's pre-release and yanked rules need to know about a specifier set.
    fn note_specifiers(&self, name: &PackageName, specifiers: &VersionSpecifiers) {
        let mut state = self.state.borrow_mut();
        for specifier in specifiers.iter() {
            if specifier.version().any_prerelease() {
                state.prerelease_named.insert(name.clone());
            }
            if matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual) {
                state.pinned.entry(name.clone()).or_default().insert(specifier.version().clone());
            }
        }
    }

    /// The project and its candidates, fetched once; prefetches the likely pick's metadata.
    fn project(&self, name: &PackageName) -> Result<(Arc<Project>, Rc<[Candidate]>), ResolveError> {
        if let Some(found) = self.state.borrow().projects.get(name) {
            return Ok(found.clone());
        }
        let project = self.source.project(name)?;
        let found: Rc<[Candidate]> = candidates(&project, self.target).into();
        if let Some(pick) = likely_pick(&found) {
            self.source.prefetch_metadata(&project, &pick.version);
        }
        let entry = (project, found);
        self.state.borrow_mut().projects.insert(name.clone(), entry.clone());
        Ok(entry)
    }

    /// Metadata of `name` `version`, fetched once. `Ok(Err(reason))` when this version cannot
    /// be used (unreadable metadata, needs a build): the resolver then tries another.
    pub(super) fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Result<Arc<Metadata>, String>, ResolveError> {
        let key = (name.clone(), version.clone());
        if let Some(found) = self.state.borrow().metadata.get(&key) {
            return Ok(Ok(found.clone()));
        }
        let (project, _) = self.project(name)?;
        match self.source.metadata(&project, version) {
            Ok(metadata) => {
                self.state.borrow_mut().metadata.insert(key, metadata.clone());
                Ok(Ok(metadata))
            }
            Err(error @ MetadataError::Http(_)) => Err(error.into()),
            Err(error) => Ok(Err(format!("because {error}"))),
        }
    }

    /// The base names `package` `version` depends on (after a successful resolution).
    pub(super) fn edges(&self, package: &Package, version: &Version) -> Vec<PackageName> {
        self.state.borrow().edges.get(&(package.clone(), version.clone())).cloned().unwrap_or_default()
    }

    /// Adds `requirement` (a dependency of `dependent`) to `deps`: its base and each extra,
    /// limited by its specifiers and any constraint. `Err` for a URL requirement.
    fn add_requirement(&self, deps: &mut Deps, requirement: &Requirement, dependent: &str) -> Result<(), String> {
        let name = &requirement.name;
        let mut range = match &requirement.version_or_url {
            None => Ranges::full(),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                self.note_specifiers(name, specifiers);
                Ranges::from(specifiers.clone())
            }
            Some(VersionOrUrl::Url(url)) => {
                return Err(format!(
                    "because {dependent} requires {name} from a URL ({url}), which hashlock cannot lock from an index"
                ));
            }
        };
        if let Some(limit) = self.constraints.get(name) {
            range = range.intersection(limit);
        }
        add(deps, Package::Base(name.clone()), range.clone());
        for extra in &requirement.extras {
            add(deps, Package::Extra(name.clone(), extra.clone()), range.clone());
        }
        Ok(())
    }

    fn root_dependencies(&self) -> Dependencies<Package, Ranges<Version>, String> {
        let mut deps = Deps::new();
        for root in self.active_root_requirements() {
            if let Err(reason) = self.add_requirement(&mut deps, &root.requirement, "the input") {
                return Dependencies::Unavailable(reason);
            }
        }
        self.finish(&Package::Root, &root_version(), deps)
    }

    /// Records the edges of `package` `version` and hands its dependencies to PubGrub.
    fn finish(
        &self,
        package: &Package,
        version: &Version,
        deps: Deps,
    ) -> Dependencies<Package, Ranges<Version>, String> {
        let names = deps.iter().filter_map(|(p, _)| p.name()).filter(|n| Some(*n) != package.name()).cloned().collect();
        self.state.borrow_mut().edges.insert((package.clone(), version.clone()), names);
        Dependencies::Available(deps.into_iter().collect())
    }
}

/// Adds a dependency, intersecting with an earlier one on the same package.
fn add(deps: &mut Deps, package: Package, range: Ranges<Version>) {
    match deps.iter_mut().find(|(p, _)| *p == package) {
        Some((_, existing)) => *existing = existing.intersection(&range),
        None => deps.push((package, range)),
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Package;
    type V = Version;
    type VS = Ranges<Version>;
    type M = String;
    type Err = ResolveError;
    /// PubGrub's usual heuristic: packages in more conflicts first, then fewest candidates.
    type Priority = (u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Package,
        range: &Ranges<Version>,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Some(name) = package.name() else { return (u32::MAX, Reverse(0)) };
        // A fetch error is deferred to `choose_version`, which can report it: decide it first.
        let Ok((_, found)) = self.project(name) else { return (u32::MAX, Reverse(0)) };
        match found.iter().filter(|c| range.contains(&c.version)).count() {
            0 => (u32::MAX, Reverse(0)),
            count => (stats.conflict_count(), Reverse(count)),
        }
    }

    /// The newest eligible version: yanked ones only when pinned with `==`; pre-releases only
    /// with `--pre`, when a specifier names one, or when the range holds nothing else (pip).
    fn choose_version(&self, package: &Package, range: &Ranges<Version>) -> Result<Option<Version>, ResolveError> {
        let Some(name) = package.name() else { return Ok(Some(root_version())) };
        let (_, found) = self.project(name)?;
        let state = self.state.borrow();
        let pinned = state.pinned.get(name);
        let allow_pre = self.prereleases || state.prerelease_named.contains(name);
        let eligible = |c: &&Candidate| {
            range.contains(&c.version) && (!c.yanked || pinned.is_some_and(|p| p.contains(&c.version)))
        };
        let settled = |c: &&Candidate| allow_pre || !c.version.any_prerelease();
        if let (Package::Extra(..), Some(base)) = (package, state.last_base.get(name))
            && let Some(preferred) = found.iter().filter(eligible).filter(settled).find(|c| c.version == *base)
        {
            return Ok(Some(preferred.version.clone()));
        }
        let pick = found.iter().filter(eligible).find(settled).or_else(|| found.iter().find(eligible));
        Ok(pick.map(|c| c.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Package,
        version: &Version,
    ) -> Result<Dependencies<Package, Ranges<Version>, String>, ResolveError> {
        let (name, extra) = match package {
            Package::Root => return Ok(self.root_dependencies()),
            Package::Base(name) => (name, None),
            Package::Extra(name, extra) => (name, Some(extra)),
        };
        let metadata = match self.metadata(name, version)? {
            Ok(metadata) => metadata,
            Err(reason) => return Ok(Dependencies::Unavailable(reason)),
        };
        if let Some(requires_python) = &metadata.requires_python
            && !requires_python.contains(&self.python)
        {
            return Ok(Dependencies::Unavailable(format!("because it requires Python {requires_python}")));
        }
        let mut deps = Deps::new();
        let active: Vec<&Requirement> = match extra {
            None => {
                self.state.borrow_mut().last_base.insert(name.clone(), version.clone());
                metadata.requires_dist.iter().filter(|r| r.evaluate_markers(&self.env, &[])).collect()
            }
            Some(extra) => {
                add(&mut deps, Package::Base(name.clone()), Ranges::singleton(version.clone()));
                let extras = std::slice::from_ref(extra);
                let only_with_extra =
                    |r: &&Requirement| r.evaluate_markers(&self.env, extras) && !r.evaluate_markers(&self.env, &[]);
                metadata.requires_dist.iter().filter(only_with_extra).collect()
            }
        };
        for requirement in active {
            if requirement.name == *name {
                // `name[a]` requiring `name[b]`: the other extra at this very version.
                for other in requirement.extras.iter().filter(|e| Some(*e) != extra) {
                    add(&mut deps, Package::Extra(name.clone(), other.clone()), Ranges::singleton(version.clone()));
                }
                continue;
            }
            self.source.prefetch_project(&requirement.name);
            if let Err(reason) = self.add_requirement(&mut deps, requirement, &format!("{package} {version}")) {
                return Ok(Dependencies::Unavailable(reason));
            }
        }
        Ok(self.finish(package, version, deps))
    }
}
