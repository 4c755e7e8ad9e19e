//! The PubGrub `DependencyProvider`: packages are the root, a distribution, or a
//! distribution with an extra (which depends on its base at the same version).
//!
//! A concrete scope evaluates markers for one environment. A universal scope keeps every
//! dependency whose marker can hold somewhere in the scope, records each edge with its marker
//! (extras resolved away), and asks to fork where requirements on one package under different
//! markers cannot be met by one version, or where a newer version needs a newer Python.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, MarkerTree, PackageName, Requirement, VersionOrUrl};
use pubgrub::{Dependencies, DependencyProvider, PackageResolutionStatistics, Ranges};

use super::candidates::{Candidate, Candidates, exclusion, likely_pick};
use super::markers::{normalize, python_at_least};
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
    pub(super) fn name(&self) -> Option<&PackageName> {
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

pub(super) type Deps = Vec<(Package, Ranges<Version>)>;

/// Why a version whose metadata says it needs a build is left out. Such versions are excluded
/// on purpose (the user can see them with `--verbose`), not failures.
const NO_BUILD: &str = "sdist only, and --no-build forbids building it";
const NEEDS_BUILD: &str = "sdist only, without static dependencies, and this command builds no sdist";

/// Where markers are evaluated.
#[derive(Clone, Debug)]
pub enum Scope {
    /// One environment: a marker holds or not.
    Concrete(MarkerEnvironment),
    /// The environments where this marker holds (universal mode, one fork).
    Universal(MarkerTree),
}

/// Requirements on `package` under these markers need versions no single one satisfies, or
/// (a `python_full_version >=` marker) a newer version of it needs a newer Python than the
/// scope's lowest: resolve separately where each marker holds and where it does not.
#[derive(Clone, Debug)]
pub struct Fork {
    pub package: PackageName,
    pub markers: Vec<MarkerTree>,
}

/// Why the provider stopped PubGrub.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("the resolution must fork on {}", .0.package)]
    Fork(Fork),
    /// A decided package keeps rejecting the versions of another: start again with it
    /// decided last (see [`Provider::restart`]).
    #[error("the resolution starts again, deciding {0} last")]
    Restart(PackageName),
}

impl From<crate::index::IndexError> for Failure {
    fn from(error: crate::index::IndexError) -> Self {
        Self::Resolve(error.into())
    }
}

/// A dependency edge: the package depended on, and the marker (extras decided) under which it
/// is needed; `TRUE` in a concrete scope.
pub type Edge = (Package, MarkerTree);

/// What the provider has learnt so far; PubGrub drives it from one thread.
#[derive(Default)]
struct State {
    projects: HashMap<PackageName, (Arc<Project>, Arc<Candidates>)>,
    metadata: HashMap<(PackageName, Version), Arc<Metadata>>,
    /// Packages where a root requirement or a constraint names a pre-release: the user asked
    /// for pre-releases there. A dependency's specifier naming one does not count.
    prerelease_named: HashSet<PackageName>,
    /// Versions named by `==`/`===`: the only way a yanked version can be chosen (PEP 592).
    pinned: HashMap<PackageName, HashSet<Version>>,
    /// What each chosen `(package, version)` depends on, for markers and `required_by`.
    edges: HashMap<(Package, Version), Vec<Edge>>,
    /// The same with the ranges asked for: what explains afterwards why a newer version lost.
    requires: HashMap<(Package, Version), Deps>,
    /// Versions left out on purpose once their metadata was known (a build needed, a
    /// `Requires-Python` that leaves the target out), with the reason.
    excluded: HashMap<PackageName, BTreeMap<Version, String>>,
    /// The version of each base whose dependencies were asked for last: extras prefer it, which
    /// spares trying every newer version of `name[extra]` against an already chosen `name`.
    last_base: HashMap<PackageName, Version>,
    /// Universal scope: the candidates for the scope's Pythons from one of them (the key's
    /// version) upwards, to see where a newer version becomes possible.
    upper_candidates: HashMap<(PackageName, Version), Arc<Candidates>>,
    /// When each package was first depended on: PubGrub decides packages in this order, the
    /// order in which the source's walk fetches them.
    discovered: HashMap<Package, usize>,
    /// The version last chosen for each package in this run: when PubGrub asks again with a
    /// range that leaves it out, that version was rejected.
    chosen: HashMap<Package, Version>,
    /// How often, in this run, a decided version of each name made another package's version
    /// fail (the culprit of a rejection).
    culprit_counts: HashMap<PackageName, u32>,
    /// Names decided after every other package, across runs (see [`Provider::restart`]).
    deferred: HashSet<PackageName>,
    /// Packages a version of which was rejected: PubGrub is walking their versions down.
    walked_down: HashSet<Package>,
    /// Whether a version's metadata comes from its sdist, for [`Provider::likely_from_sdist`]
    /// (asked each time a package's range changes).
    from_sdist: HashMap<(PackageName, Version), bool>,
}

pub struct Provider<'a> {
    source: &'a dyn Source,
    requirements: &'a [RootRequirement],
    scope: Scope,
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
        scope: Scope,
        options: &ResolveOptions,
    ) -> Self {
        let provider = Self {
            source,
            requirements,
            scope,
            prereleases: options.prereleases,
            constraints: HashMap::new(),
            target,
            state: RefCell::new(State::default()),
        };
        let mut limits: HashMap<PackageName, Ranges<Version>> = HashMap::new();
        // A constraint applies wherever its marker can hold in the scope.
        for constraint in constraints.iter().filter(|c| provider.applies(&c.marker, &[]).is_some()) {
            if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &constraint.version_or_url {
                provider.note_specifiers(&constraint.name, specifiers);
                provider.note_user_prereleases(&constraint.name, specifiers);
                let range = Ranges::from(specifiers.clone());
                let limit = limits.entry(constraint.name.clone()).or_insert_with(Ranges::full);
                *limit = limit.intersection(&range);
            }
        }
        for (root, _) in provider.active_root_requirements() {
            let requirement = &root.requirement;
            if let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url {
                provider.note_user_prereleases(&requirement.name, specifiers);
            }
            source.prefetch_project(&requirement.name);
        }
        Self { constraints: limits, ..provider }
    }

    /// The root requirements that apply in the scope, with their markers.
    pub(super) fn active_root_requirements(&self) -> impl Iterator<Item = (&'a RootRequirement, MarkerTree)> + '_ {
        self.requirements.iter().filter_map(|r| self.applies(&r.requirement.marker, &[]).map(|m| (r, m)))
    }

    /// Whether `marker` (with `extras` active) can hold in the scope: `Some(marker)` with the
    /// extras decided (`TRUE` in a concrete scope), `None` when it cannot.
    fn applies(&self, marker: &MarkerTree, extras: &[ExtraName]) -> Option<MarkerTree> {
        match &self.scope {
            Scope::Concrete(env) => marker.evaluate(env, extras).then_some(MarkerTree::TRUE),
            Scope::Universal(scope) => {
                let decided = normalize(marker, extras);
                let mut within = decided.clone();
                within.and(scope.clone());
                (!within.is_false()).then_some(decided)
            }
        }
    }

    /// Remembers the versions a specifier set pins, for the yanked rule.
    fn note_specifiers(&self, name: &PackageName, specifiers: &VersionSpecifiers) {
        let mut state = self.state.borrow_mut();
        for specifier in specifiers.iter() {
            if matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual) {
                state.pinned.entry(name.clone()).or_default().insert(specifier.version().clone());
            }
        }
    }

    /// A specifier of the user's (root requirement or constraint) that names a pre-release
    /// asks for pre-releases of `name`.
    fn note_user_prereleases(&self, name: &PackageName, specifiers: &VersionSpecifiers) {
        if specifiers.iter().any(|specifier| specifier.version().any_prerelease()) {
            self.state.borrow_mut().prerelease_named.insert(name.clone());
        }
    }

    /// Whether the version of `name` likely picked in `range` has its metadata from an sdist.
    /// Known from the page (a failed fetch is told when the package is decided), so the
    /// decision order does not hang on how fast anything arrives. A pick seen for the first
    /// time has its metadata prefetched: in the range PubGrub has narrowed, not the newest
    /// release, which a pinned dependency would never read.
    fn likely_from_sdist(&self, name: &PackageName, range: &Ranges<Version>) -> bool {
        let Ok((project, found)) = self.project(name) else { return false };
        let Some(pick) = likely_pick(&found, range) else { return false };
        let key = (name.clone(), pick);
        if let Some(known) = self.state.borrow().from_sdist.get(&key) {
            return *known;
        }
        self.source.prefetch_metadata(&project, &key.1);
        let from_sdist = found.metadata_file(&key.1).is_some_and(|(_, filename)| !filename.is_wheel());
        self.state.borrow_mut().from_sdist.insert(key, from_sdist);
        from_sdist
    }

    /// The project and its candidates, fetched once.
    fn project(&self, name: &PackageName) -> Result<(Arc<Project>, Arc<Candidates>), ResolveError> {
        if let Some(found) = self.state.borrow().projects.get(name) {
            return Ok(found.clone());
        }
        let project = self.source.project(name)?;
        let found = self.source.candidates(&project, self.target);
        let entry = (project, found);
        self.state.borrow_mut().projects.insert(name.clone(), entry.clone());
        Ok(entry)
    }

    /// Metadata of `name` `version`, fetched once.
    ///
    /// `Ok(Err(reason))` when the version is excluded on purpose, and the resolver tries
    /// another: [`MetadataError::NeedsBuild`] (a command without a builder, such as `audit`) and
    /// [`MetadataError::NoBuild`] (`--no-build`), and an sdist whose
    /// metadata gives the same project another version (a post-release re-upload such as
    /// `pyspark-2.2.0.post0.tar.gz` keeps the 2.2.0 PKG-INFO; pip and uv discard it too).
    /// Every other error means the metadata cannot be had — unreadable or invalid bytes, a
    /// wheel (named from its own metadata) or any file naming another release or project, a
    /// metadata file whose hash does not match, no file listed, a failed download — and is
    /// `Err`: the run stops naming the version, as uv does, because trying older versions
    /// instead would quietly lock an old tree.
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
            Err(MetadataError::NeedsBuild { .. }) => Ok(Err(self.exclude(name, version, NEEDS_BUILD.into()))),
            Err(MetadataError::NoBuild { .. }) => Ok(Err(self.exclude(name, version, NO_BUILD.into()))),
            Err(MetadataError::OtherVersion { found, .. }) => {
                Ok(Err(self.exclude(name, version, format!("its sdist's metadata says {found}"))))
            }
            Err(error) => Err(ResolveError::Unusable { name: name.clone(), version: version.clone(), error }),
        }
    }

    /// Where newer Pythons of a universal scope get a resolution of their own: a fork of `name`
    /// at the lowest of the scope's Pythons (its lowest excluded) from which on `upper` holds.
    /// `Ok` in a concrete scope or when nowhere.
    fn fork_for_newer_pythons(
        &self,
        name: &PackageName,
        mut upper: impl FnMut(&Version) -> bool,
    ) -> Result<(), Failure> {
        match self.target.pythons().iter().skip(1).find(|from| upper(from)) {
            Some(from) => Err(Failure::Fork(Fork { package: name.clone(), markers: vec![python_at_least(from)] })),
            None => Ok(()),
        }
    }

    /// The target narrowed to the scope's Pythons from `from` upwards.
    fn pythons_from(&self, from: &Version) -> Target {
        self.target.with_pythons(|python| python >= from)
    }

    /// The candidates of `name` for the Pythons of the scope from `from` upwards, computed once.
    fn candidates_from(&self, project: &Arc<Project>, from: &Version) -> Arc<Candidates> {
        let key = (project.name.clone(), from.clone());
        if let Some(found) = self.state.borrow().upper_candidates.get(&key) {
            return found.clone();
        }
        let found = self.source.candidates(project, &self.pythons_from(from));
        self.state.borrow_mut().upper_candidates.insert(key, found.clone());
        found
    }

    /// When PubGrub asks for `package` again with a range that leaves out the version chosen
    /// last, that version was rejected: the dependencies it asked for that the versions chosen
    /// for them do not meet are the culprits. A culprit that has caused
    /// [`CULPRIT_REJECTIONS`] rejections asks for a restart that decides it last, so that the
    /// packages depending on it narrow it before it is chosen. A typical case: a new major
    /// release of a widely used package, chosen early, that each version of a package found
    /// later excludes (`python-dateutil` 4 against every `botocore`); PubGrub alone would walk
    /// every version of that package, then of its dependents, before deciding the culprit
    /// again.
    fn note_rejection(&self, package: &Package, range: &Ranges<Version>) -> Result<(), Failure> {
        let mut state = self.state.borrow_mut();
        let Some(rejected) = state.chosen.get(package).filter(|v| !range.contains(v)).cloned() else { return Ok(()) };
        state.walked_down.insert(package.clone());
        let culprits: Vec<PackageName> = state
            .requires
            .get(&(package.clone(), rejected))
            .into_iter()
            .flatten()
            .filter(|(dependency, wanted)| state.chosen.get(dependency).is_some_and(|v| !wanted.contains(v)))
            .filter_map(|(dependency, _)| dependency.name().cloned())
            .collect();
        for culprit in culprits {
            let count = state.culprit_counts.entry(culprit.clone()).or_default();
            *count += 1;
            if *count >= CULPRIT_REJECTIONS && state.deferred.insert(culprit.clone()) {
                return Err(Failure::Restart(culprit));
            }
        }
        Ok(())
    }

    /// Forgets what the last run chose, before PubGrub starts again (after a
    /// [`Failure::Restart`]); what was fetched and the deferred names are kept.
    pub(super) fn restart(&self) {
        let mut state = self.state.borrow_mut();
        state.chosen.clear();
        state.walked_down.clear();
        state.culprit_counts.clear();
        state.last_base.clear();
    }

    /// Records why `name` `version` is left out, and returns the reason.
    fn exclude(&self, name: &PackageName, version: &Version, reason: String) -> String {
        self.state.borrow_mut().excluded.entry(name.clone()).or_default().insert(version.clone(), reason.clone());
        reason
    }

    /// Why `version` of `project` is left out, if it is: what its metadata showed once read,
    /// else what the index page shows (yanked, requires-python, no file for the target).
    pub(super) fn excluded(&self, project: &Project, version: &Version) -> Option<String> {
        let recorded = self.state.borrow().excluded.get(&project.name).and_then(|found| found.get(version).cloned());
        recorded.or_else(|| exclusion(project, version, self.target))
    }

    /// The versions excluded of each package the solution does not pin, by name.
    pub(super) fn excluded_unpinned(
        &self,
        solution: &pubgrub::SelectedDependencies<Package, Version>,
    ) -> Vec<(PackageName, Vec<Version>)> {
        let state = self.state.borrow();
        let mut found: Vec<(PackageName, Vec<Version>)> = state
            .excluded
            .iter()
            .filter(|(name, _)| solution.get(&Package::Base((*name).clone())).is_none())
            .map(|(name, versions)| (name.clone(), versions.keys().cloned().collect()))
            .collect();
        found.sort();
        found
    }

    /// The project and its candidates, if the resolver fetched them.
    pub(super) fn known(&self, name: &PackageName) -> Option<(Arc<Project>, Arc<Candidates>)> {
        self.state.borrow().projects.get(name).cloned()
    }

    /// What `package` `version` requires, with ranges, if its dependencies were asked for.
    pub(super) fn requires(&self, package: &Package, version: &Version) -> Option<Deps> {
        self.state.borrow().requires.get(&(package.clone(), version.clone())).cloned()
    }

    /// What `package` `version` depends on (after a successful resolution).
    pub(super) fn edges(&self, package: &Package, version: &Version) -> Vec<Edge> {
        self.state.borrow().edges.get(&(package.clone(), version.clone())).cloned().unwrap_or_default()
    }

    /// The versions `requirement` allows, limited by any constraint. `Err` for a URL requirement.
    fn range_of(&self, requirement: &Requirement, dependent: &str) -> Result<Ranges<Version>, String> {
        let name = &requirement.name;
        let mut range = match &requirement.version_or_url {
            None => Ranges::full(),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                self.note_specifiers(name, specifiers);
                Ranges::from(specifiers.clone())
            }
            Some(VersionOrUrl::Url(url)) => {
                return Err(format!(
                    "{dependent} requires {name} from a URL ({url}), which hashlock cannot lock from an index"
                ));
            }
        };
        if let Some(limit) = self.constraints.get(name) {
            range = range.intersection(limit);
        }
        Ok(range)
    }

    /// Turns the active requirements of `package` `version` (each with its marker) into
    /// PubGrub dependencies (base and extras; requirements on one name intersect) and records
    /// the edges. In a universal scope, requirements on one name whose ranges do not meet and
    /// whose markers differ in the scope ask for a fork instead.
    fn dependencies(
        &self,
        package: &Package,
        version: &Version,
        mut deps: Deps,
        active: Vec<(&Requirement, MarkerTree)>,
    ) -> Result<Dependencies<Package, Ranges<Version>, String>, Failure> {
        let dependent = match package {
            Package::Root => "the input".to_string(),
            _ => format!("{package} {version}"),
        };
        let mut edges: Vec<Edge> = deps.iter().map(|(p, _)| (p.clone(), MarkerTree::TRUE)).collect();
        let mut ranges: Vec<(&PackageName, Ranges<Version>, &MarkerTree)> = Vec::new();
        for (requirement, marker) in &active {
            let range = match self.range_of(requirement, &dependent) {
                Ok(range) => range,
                Err(reason) => return Ok(Dependencies::Unavailable(reason)),
            };
            let name = &requirement.name;
            add(&mut deps, Package::Base(name.clone()), range.clone());
            edges.push((Package::Base(name.clone()), marker.clone()));
            for extra in &requirement.extras {
                add(&mut deps, Package::Extra(name.clone(), extra.clone()), range.clone());
                edges.push((Package::Extra(name.clone(), extra.clone()), marker.clone()));
            }
            ranges.push((name, range, marker));
        }
        if let Scope::Universal(scope) = &self.scope {
            for (package, _) in deps.iter().filter(|(_, range)| *range == Ranges::empty()) {
                let Package::Base(name) = package else { continue };
                let mut markers: Vec<MarkerTree> = Vec::new();
                for (_, _, marker) in ranges.iter().filter(|(n, _, _)| *n == name) {
                    let mut within = (*marker).clone();
                    within.and(scope.clone());
                    if within != *scope && !markers.contains(marker) {
                        markers.push((*marker).clone());
                    }
                }
                if !markers.is_empty() {
                    return Err(Failure::Fork(Fork { package: name.clone(), markers }));
                }
            }
        }
        if let Some((Package::Base(name), _)) = deps.iter().find(|(_, range)| *range == Ranges::empty()) {
            let conflicting: Vec<String> =
                active.iter().filter(|(r, _)| r.name == *name).map(|(r, _)| format!("`{r}`")).collect();
            return Ok(Dependencies::Unavailable(format!(
                "requires {}, which no version of {name} satisfies together",
                conflicting.join(" and ")
            )));
        }
        let mut state = self.state.borrow_mut();
        for (package, _) in &deps {
            let next = state.discovered.len();
            state.discovered.entry(package.clone()).or_insert(next);
        }
        state.edges.insert((package.clone(), version.clone()), edges);
        state.requires.insert((package.clone(), version.clone()), deps.clone());
        Ok(Dependencies::Available(deps.into_iter().collect()))
    }
}

/// Decision tiers, lowest first (see [`Provider::prioritize`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    Deferred,
    /// Its likely version has no wheel: its metadata may need a build, which runs (started by
    /// the look-ahead) while the packages with wheels are decided.
    Sdist,
    Unspecified,
    ConflictEarly,
    Singleton,
    Root,
}

/// Conflicts after which a package is decided before the packages discovered before it (uv
/// uses the same threshold): its versions are the ones being rejected, so choosing it early
/// lets the conflicts narrow the others instead.
const CONFLICTS_BEFORE_EARLY: u32 = 5;

/// Versions whose metadata is fetched ahead of a package being walked down.
const WALK_AHEAD: usize = 16;

/// Rejections a decided package may cause before the resolution starts again with it
/// decided last.
const CULPRIT_REJECTIONS: u32 = 5;

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
    type Err = Failure;
    /// As uv decides: a package pinned to one version first, then packages whose versions
    /// kept being rejected in conflicts, then the rest in the order they were first depended
    /// on (breadth first from the root), then those whose likely version has no wheel, and last
    /// the packages deferred by a restart. So a direct requirement is decided before what it
    /// pulls in, a conflict below it walks back the dependency rather than the requirement, and
    /// builds run while the rest is decided.
    type Priority = (Tier, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Package,
        range: &Ranges<Version>,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let Some(name) = package.name() else { return (Tier::Root, Reverse(0)) };
        let from_sdist = self.likely_from_sdist(name, range);
        let tier = if range.as_singleton().is_some() && !from_sdist {
            Tier::Singleton
        } else if self.state.borrow().deferred.contains(name) {
            Tier::Deferred
        } else if stats.conflict_count() >= CONFLICTS_BEFORE_EARLY {
            Tier::ConflictEarly
        } else if from_sdist {
            Tier::Sdist
        } else {
            Tier::Unspecified
        };
        (tier, Reverse(self.state.borrow().discovered.get(package).copied().unwrap_or(usize::MAX)))
    }

    /// The newest eligible version: yanked ones only when pinned with `==`; pre-releases only
    /// with `--pre`, when a root requirement or constraint names one, or when the range (as
    /// PubGrub has narrowed it by now) holds no final release.
    ///
    /// In a universal scope, where a newer version than that needs a newer Python than the
    /// scope's lowest, the resolution forks there, so every Python gets the newest versions that
    /// support it (as uv does).
    fn choose_version(&self, package: &Package, range: &Ranges<Version>) -> Result<Option<Version>, Failure> {
        let Some(name) = package.name() else { return Ok(Some(root_version())) };
        self.note_rejection(package, range)?;
        let (project, found) = self.project(name)?;
        let (pinned, allow_pre, base) = {
            let state = self.state.borrow();
            let base = match package {
                Package::Extra(..) => state.last_base.get(name).cloned(),
                _ => None,
            };
            (state.pinned.get(name).cloned(), self.prereleases || state.prerelease_named.contains(name), base)
        };
        let yank_ok = |c: &Candidate| !c.yanked || pinned.as_ref().is_some_and(|p| p.contains(&c.version));
        let settled = |v: &Version| allow_pre || !v.any_prerelease();
        if let Some(base) = base
            && let Some(preferred) = found.among(Some(range), |v| *v == base && settled(v)).find(|c| yank_ok(c))
        {
            return Ok(Some(preferred.version));
        }
        let choose = |found: &Candidates| {
            found
                .among(Some(range), settled)
                .find(|c| yank_ok(c))
                .or_else(|| found.among(Some(range), |_| true).find(|c| yank_ok(c)))
                .map(|c| c.version)
        };
        let pick = choose(&found);
        let newer = |from: &Version| {
            choose(&self.candidates_from(&project, from)).is_some_and(|v| pick.as_ref().is_none_or(|p| v > *p))
        };
        self.fork_for_newer_pythons(name, newer)?;
        if let Some(pick) = &pick {
            self.state.borrow_mut().chosen.insert(package.clone(), pick.clone());
            if self.state.borrow().walked_down.contains(package) {
                // Walking versions down, PubGrub asks for one metadata at a time: keep the
                // next ones in flight, as uv's batch prefetch does.
                let next = found
                    .among(Some(range), |_| true)
                    .filter(|c| yank_ok(c))
                    .skip_while(|c| c.version != *pick)
                    .skip(1);
                for candidate in next.take(WALK_AHEAD) {
                    self.source.prefetch_metadata(&project, &candidate.version);
                }
            }
        }
        Ok(pick)
    }

    fn get_dependencies(
        &self,
        package: &Package,
        version: &Version,
    ) -> Result<Dependencies<Package, Ranges<Version>, String>, Failure> {
        let (name, extra) = match package {
            Package::Root => {
                let active = self.active_root_requirements().map(|(r, m)| (&r.requirement, m)).collect();
                return self.dependencies(package, version, Deps::new(), active);
            }
            Package::Base(name) => (name, None),
            Package::Extra(name, extra) => (name, Some(extra)),
        };
        let metadata = match self.metadata(name, version)? {
            Ok(metadata) => metadata,
            Err(reason) => return Ok(Dependencies::Unavailable(reason)),
        };
        if let Some(requires_python) = &metadata.requires_python
            && !self.target.admits(requires_python)
        {
            // Only the metadata says so (the index did not): fork as `choose_version` would have.
            self.fork_for_newer_pythons(name, |from| self.pythons_from(from).admits(requires_python))?;
            let reason = self.exclude(name, version, format!("requires Python {requires_python}"));
            return Ok(Dependencies::Unavailable(reason));
        }
        let mut deps = Deps::new();
        let mut active: Vec<(&Requirement, MarkerTree)> = Vec::new();
        for requirement in &metadata.requires_dist {
            let plain = self.applies(&requirement.marker, &[]);
            let marker = match extra {
                None => plain,
                // Only what the extra adds: needed with it, and not (or not as widely) without it.
                Some(extra) => {
                    self.applies(&requirement.marker, std::slice::from_ref(extra)).filter(|m| plain.as_ref() != Some(m))
                }
            };
            let Some(marker) = marker else { continue };
            if requirement.name == *name {
                // `name[a]` requiring `name[b]`: the other extra at this very version.
                for other in requirement.extras.iter().filter(|e| Some(*e) != extra) {
                    add(&mut deps, Package::Extra(name.clone(), other.clone()), Ranges::singleton(version.clone()));
                }
                continue;
            }
            self.source.prefetch_project(&requirement.name);
            active.push((requirement, marker));
        }
        match extra {
            None => {
                self.state.borrow_mut().last_base.insert(name.clone(), version.clone());
            }
            Some(_) => add(&mut deps, Package::Base(name.clone()), Ranges::singleton(version.clone())),
        }
        self.dependencies(package, version, deps, active)
    }
}
