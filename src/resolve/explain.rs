//! What the resolver says to people: a conflict in a few lines, and, after a resolution, which
//! newer versions were left out and why.
//!
//! Version sets are written in terms of the versions the index has: the set's members as runs
//! of consecutive existing versions (`1.0 to 1.99`), never PubGrub's ranges with a hole per
//! unavailable version.

use std::collections::{HashMap, HashSet};
use std::fmt;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use pubgrub::{DerivationTree, External, Ranges, SelectedDependencies};

use super::provider::{Deps, Package, Provider, ROOT_NAME, root_version};

/// Runs of versions shown before "and N more".
const RUNS: usize = 3;
/// Lines of a conflict shown before "and N more".
const FACTS: usize = 6;
/// A requirement's range longer than this is written as runs of existing versions instead.
const SPEC_CHARS: usize = 40;
/// How many requirements deep a stale root's note follows an unmet one.
const CHAIN: usize = 3;

/// Something the resolver learnt that the user should hear about (on stderr).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// Versions newer than the pin left out on purpose (shown with `--verbose`).
    Excluded { name: PackageName, versions: String, reason: String },
    /// A root requirement pinned below its newest eligible release (shown unless `--quiet`).
    Stale { name: PackageName, pinned: Version, newest: Version, why: String },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Excluded { name, versions, reason } => write!(f, "excluded {name} {versions}: {reason}"),
            Self::Stale { name, pinned, newest, why } => {
                write!(f, "{name} is pinned at {pinned}, not its newest release {newest}: {why}")
            }
        }
    }
}

/// `1.0 to 1.99, 2.5`: the versions of `all` (ascending) that `member` holds, as runs of
/// consecutive ones; `None` when it holds none.
fn runs<'v>(all: impl IntoIterator<Item = &'v Version>, member: impl Fn(&Version) -> bool) -> Option<String> {
    let mut found: Vec<(&Version, &Version)> = Vec::new();
    let mut open = false;
    for version in all {
        match (member(version), open, found.last_mut()) {
            (true, true, Some(run)) => run.1 = version,
            (true, _, _) => found.push((version, version)),
            (false, _, _) => {}
        }
        open = member(version);
    }
    if found.is_empty() {
        return None;
    }
    let mut shown: Vec<String> = found
        .iter()
        .take(RUNS)
        .map(|(first, last)| if first == last { first.to_string() } else { format!("{first} to {last}") })
        .collect();
    if found.len() > RUNS {
        shown.push(format!("and {} more", found.len() - RUNS));
    }
    Some(shown.join(", "))
}

/// PubGrub's derivation of a conflict as the facts it rests on, one per line: what depends on
/// what, and which versions are unavailable and why, with identical facts over many versions
/// merged into one line over their runs.
pub(super) fn conflict(tree: &DerivationTree<Package, Ranges<Version>, String>, provider: &Provider) -> String {
    let mut facts = Facts::default();
    let mut seen = HashSet::new();
    facts.collect(tree, &mut seen);
    let (root, rest): (Vec<_>, Vec<_>) =
        facts.0.iter().partition(|(fact, _)| matches!(fact, Fact::Depends { package: Package::Root, .. }));
    let required: Vec<String> = root
        .iter()
        .filter_map(|(fact, _)| match fact {
            Fact::Depends { on, range, .. } => Some(format!("{on}{}", spec(on, range, provider))),
            _ => None,
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    if !required.is_empty() {
        lines.push(format!("{ROOT_NAME} require {}", required.join(" and ")));
    }
    for (fact, set) in &rest {
        // "No other version exists" adds nothing to what is said of the versions that do.
        let explained = rest.iter().any(|(other, _)| other != fact && other.package() == fact.package());
        if !(matches!(fact, Fact::NoVersions { .. }) && explained && !holds_existing(fact.package(), set, provider)) {
            lines.extend(fact.render(set, provider));
        }
    }
    lines.dedup();
    if lines.len() > FACTS {
        let more = lines.len() - FACTS;
        lines.truncate(FACTS);
        lines.push(format!("and {more} more facts"));
    }
    // One fact beside what was asked for is no conflict: one line, as every other error.
    if lines.len() - usize::from(!required.is_empty()) > 1 {
        format!("{ROOT_NAME} cannot be satisfied:\n  {}", lines.join("\n  "))
    } else {
        format!("{ROOT_NAME} cannot be satisfied: {}", lines.join("; "))
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Fact {
    /// `package` (at the versions in the set) depends on `on` in `range`.
    Depends { package: Package, on: Package, range: Ranges<Version> },
    /// The versions in the set are unavailable for this reason.
    Unavailable { package: Package, reason: String },
    /// `package` has no usable version in the set.
    NoVersions { package: Package },
}

/// Facts in the order met, each with the union of the versions it holds for.
#[derive(Default)]
struct Facts(Vec<(Fact, Ranges<Version>)>);

impl Facts {
    fn collect(&mut self, tree: &DerivationTree<Package, Ranges<Version>, String>, seen: &mut HashSet<usize>) {
        match tree {
            DerivationTree::Derived(derived) => {
                if derived.shared_id.is_some_and(|id| !seen.insert(id)) {
                    return;
                }
                self.collect(&derived.cause1, seen);
                self.collect(&derived.cause2, seen);
            }
            DerivationTree::External(external) => {
                let (fact, set) = match external {
                    External::NotRoot(..) => return,
                    External::NoVersions(package, set) => (Fact::NoVersions { package: package.clone() }, set),
                    External::Custom(package, set, reason) => {
                        (Fact::Unavailable { package: package.clone(), reason: reason.clone() }, set)
                    }
                    External::FromDependencyOf(package, set, on, range) => {
                        (Fact::Depends { package: package.clone(), on: on.clone(), range: range.clone() }, set)
                    }
                };
                match self.0.iter_mut().find(|(known, _)| *known == fact) {
                    Some((_, union)) => *union = union.union(set),
                    None => self.0.push((fact, set.clone())),
                }
            }
        }
    }
}

impl Fact {
    /// The package the fact is about.
    fn package(&self) -> &Package {
        match self {
            Self::Depends { package, .. } | Self::Unavailable { package, .. } | Self::NoVersions { package } => package,
        }
    }

    fn render(&self, set: &Ranges<Version>, provider: &Provider) -> Vec<String> {
        match self {
            Self::Depends { package, on, range } => {
                vec![format!("{} depends on {on}{}", versions(package, set, provider), spec(on, range, provider))]
            }
            Self::Unavailable { package, reason } => vec![format!("{}: {reason}", versions(package, set, provider))],
            Self::NoVersions { package } => no_versions(package, set, provider),
        }
    }
}

/// The versions on the index of `package`'s project, ascending.
fn index_versions(package: &Package, provider: &Provider) -> Vec<Version> {
    let known = package.name().and_then(|name| provider.known(name));
    known.map(|(project, _)| project.releases().map(|(v, _)| v.clone()).collect()).unwrap_or_default()
}

/// Whether `set` holds a version the index has.
fn holds_existing(package: &Package, set: &Ranges<Version>, provider: &Provider) -> bool {
    index_versions(package, provider).iter().any(|v| set.contains(v))
}

/// `app 1.0 to 1.99`, or `app` when the set holds every version.
fn versions(package: &Package, set: &Ranges<Version>, provider: &Provider) -> String {
    if *set == Ranges::full() {
        return package.to_string();
    }
    let all = index_versions(package, provider);
    match runs(&all, |v| set.contains(v)) {
        Some(runs) => format!("{package} {runs}"),
        None => format!("{package} {set}"),
    }
}

/// ` >=2, <3`, or the existing versions it allows when the range is long; empty for any.
fn spec(package: &Package, range: &Ranges<Version>, provider: &Provider) -> String {
    if *range == Ranges::full() {
        return String::new();
    }
    let text = requirement(range);
    if text.len() <= SPEC_CHARS {
        return format!(" {text}");
    }
    let all = index_versions(package, provider);
    runs(&all, |v| range.contains(v)).map_or_else(|| format!(" {text}"), |runs| format!(" {runs}"))
}

/// Why the index's versions in `set` cannot serve: one line per reason, or that none exists.
fn no_versions(package: &Package, set: &Ranges<Version>, provider: &Provider) -> Vec<String> {
    let all = index_versions(package, provider);
    let inside: Vec<&Version> = all.iter().filter(|v| set.contains(v)).collect();
    if inside.is_empty() {
        let text = set.to_string();
        return vec![match () {
            _ if *set == Ranges::full() => format!("no version of {package} is on the index"),
            _ if text.len() <= SPEC_CHARS => format!("no version of {package} on the index matches {text}"),
            _ => format!("no other version of {package} is on the index"),
        }];
    }
    let reasons = reasons(package.name(), &inside, provider);
    grouped(&all, &reasons).into_iter().map(|(runs, reason)| format!("{package} {runs}: {reason}")).collect()
}

/// Why each of `versions` is not usable, as far as the index page and the metadata read say.
fn reasons<'v>(
    name: Option<&PackageName>,
    versions: &[&'v Version],
    provider: &Provider,
) -> Vec<(&'v Version, String)> {
    let Some((project, _)) = name.and_then(|n| provider.known(n)) else { return Vec::new() };
    versions.iter().filter_map(|v| Some((*v, provider.excluded(&project, v)?))).collect()
}

/// `(runs, reason)` per distinct reason, in the order of the versions.
fn grouped(all: &[Version], reasons: &[(&Version, String)]) -> Vec<(String, String)> {
    let mut distinct: Vec<&String> = Vec::new();
    for (_, reason) in reasons {
        if !distinct.contains(&reason) {
            distinct.push(reason);
        }
    }
    distinct
        .into_iter()
        .filter_map(|reason| {
            let runs = runs(all, |v| reasons.iter().any(|(r, why)| *r == v && why == reason))?;
            Some((runs, reason.clone()))
        })
        .collect()
}

/// What the solution's packages (and the root) ask of each name between them: the
/// intersection of their ranges on it or on one of its extras.
fn asked_of(
    solution: &SelectedDependencies<Package, Version>,
    provider: &Provider,
) -> HashMap<PackageName, Ranges<Version>> {
    let mut asked: HashMap<PackageName, Ranges<Version>> = HashMap::new();
    for (package, version) in solution.iter() {
        for (dependency, range) in provider.requires(package, version).unwrap_or_default() {
            // `name[extra]` requires `name` at its own version: that asks nothing of the name.
            let Some(name) = dependency.name().filter(|name| package.name() != Some(*name)) else { continue };
            let both = asked.get(name).map_or_else(|| range.clone(), |known| known.intersection(&range));
            asked.insert(name.clone(), both);
        }
    }
    asked
}

/// After a resolution: for each pin, the newer versions left out on purpose; for each root
/// requirement pinned below its newest eligible release, why that one was not taken.
pub(super) fn notes(
    solution: &SelectedDependencies<Package, Version>,
    provider: &Provider,
    prereleases: bool,
) -> Vec<Note> {
    let mut notes = Vec::new();
    let mut pins: Vec<(&PackageName, &Version)> = solution
        .iter()
        .filter_map(|(package, version)| match package {
            Package::Base(name) => Some((name, version)),
            _ => None,
        })
        .collect();
    pins.sort();
    let asked = asked_of(solution, provider);
    // Of each pin the versions newer than it that the tree's requirements allow (the others
    // are left out by those, whatever their files); of the packages tried and left out
    // altogether, every version excluded once its metadata was read.
    let mut excluded_of = |name: &PackageName, these: Vec<&Version>| {
        // Mostly none: the pin is the newest its requirements allow.
        if these.is_empty() {
            return;
        }
        let all = index_versions(&Package::Base(name.clone()), provider);
        for (versions, reason) in grouped(&all, &reasons(Some(name), &these, provider)) {
            notes.push(Note::Excluded { name: name.clone(), versions, reason });
        }
    };
    for (name, pinned) in &pins {
        let Some((project, _)) = provider.known(name) else { continue };
        let asked = asked.get(*name);
        // From the newest down to the pin, then oldest first as the versions go.
        let newer = project.releases().rev().map(|(v, _)| v).take_while(|v| v > pinned);
        let mut these: Vec<&Version> = newer.filter(|v| asked.is_none_or(|range| range.contains(v))).collect();
        these.reverse();
        excluded_of(name, these);
    }
    for (name, tried) in provider.excluded_unpinned(solution) {
        let Some((project, _)) = provider.known(&name) else { continue };
        excluded_of(&name, project.releases().map(|(v, _)| v).filter(|v| tried.contains(v)).collect());
    }
    // What the root requirements (and constraints) allow of each name, as the resolver took it.
    let roots = provider.requires(&Package::Root, &root_version()).unwrap_or_default();
    for (package, asked) in &roots {
        let Package::Base(name) = package else { continue };
        let (Some(pinned), Some((project, _))) = (solution.get(package), provider.known(name)) else { continue };
        let allow_pre = prereleases || pinned.any_prerelease();
        let mut newer = project.releases().rev().map(|(v, _)| v).take_while(|v| *v > pinned).filter(|v| {
            asked.contains(v) && (allow_pre || !v.any_prerelease()) && project.release(v).summaries().any(|f| !f.yanked)
        });
        let Some(newest) = newer.next() else { continue };
        let excluded = |v: &Version| provider.excluded(&project, v);
        let why = match excluded(newest) {
            None => lost_to(name, newest, solution, provider),
            // The newest is out of reach: why the newest within reach was not taken matters more.
            Some(reason) => match newer.find(|v| excluded(v).is_none()) {
                Some(usable) => {
                    format!("{reason}; {usable} was not taken either: {}", lost_to(name, usable, solution, provider))
                }
                None => reason,
            },
        };
        notes.push(Note::Stale { name: name.clone(), pinned: pinned.clone(), newest: newest.clone(), why });
    }
    notes
}

/// Why `name` `newest` lost, from what the resolver learnt: a pinned package whose requirement
/// leaves it out, or a requirement of `newest` the lock does not meet.
fn lost_to(
    name: &PackageName,
    newest: &Version,
    solution: &SelectedDependencies<Package, Version>,
    provider: &Provider,
) -> String {
    let excludes =
        |deps: &Deps| deps.iter().find(|(p, range)| p.name() == Some(name) && !range.contains(newest)).cloned();
    for (package, version) in solution.iter().filter(|(p, _)| p.name() != Some(name)) {
        if let Some((_, range)) = provider.requires(package, version).as_ref().and_then(excludes) {
            let who = match package {
                Package::Root => ROOT_NAME.to_string(),
                _ => format!("{package} {version}"),
            };
            return format!(
                "a conflict with {} ({who} requires {name} {})",
                package.name().unwrap_or(name),
                requirement(&range)
            );
        }
    }
    match unmet(&Package::Base(name.clone()), newest, solution, provider, CHAIN) {
        Some(Unmet { clause, dependency, conclusive }) => {
            let hint = if conclusive {
                String::new()
            } else {
                format!("; require {name}=={newest} to see the whole conflict")
            };
            format!("a conflict with {dependency} ({clause}{hint})")
        }
        None => format!("a conflict the resolver found (require {name}=={newest} to see it)"),
    }
}

/// A requirement the lock does not meet, and why, as far as the resolver learnt.
struct Unmet {
    /// `app 2.0 requires lib >=2, the lock has 1.0`, or followed down into what is not in the
    /// lock: `...; lib 2.0: requires Python >=3.12`.
    clause: String,
    dependency: Package,
    /// It ends in a reason; else the conflict is wider than one chain of requirements.
    conclusive: bool,
}

/// The requirement of `package` `version` the lock does not meet, preferring one that ends in
/// a reason; one that merely is not in the lock is followed `depth` levels down.
fn unmet(
    package: &Package,
    version: &Version,
    solution: &SelectedDependencies<Package, Version>,
    provider: &Provider,
    depth: usize,
) -> Option<Unmet> {
    let own = provider.requires(package, version)?;
    let mut open: Option<(String, Package, Option<Version>)> = None;
    let mut other: Option<Unmet> = None;
    for (dependency, wanted) in
        own.into_iter().filter(|(d, r)| solution.get(d).is_none_or(|chosen| !r.contains(chosen)))
    {
        let head = format!("{package} {version} requires {dependency} {}", requirement(&wanted));
        // A version left out is the likelier root cause than the lock's other choices (which
        // may follow from an older version of everything): it is looked for first.
        if let Some(chosen) = solution.get(&dependency) {
            let clause = format!("{head}, the lock has {chosen}");
            other.get_or_insert(Unmet { clause, dependency, conclusive: true });
            continue;
        }
        match newest_learnt(&dependency, &wanted, provider) {
            Some((newest, Some(reason))) => {
                let clause = format!("{head}; {dependency} {newest}: {reason}");
                return Some(Unmet { clause, dependency, conclusive: true });
            }
            Some((newest, None)) if open.as_ref().is_none_or(|(_, _, v)| v.is_none()) => {
                open = Some((head, dependency, Some(newest)));
            }
            _ if open.is_none() => open = Some((head, dependency, None)),
            _ => {}
        }
    }
    if other.is_some() {
        return other;
    }
    let (head, dependency, newest) = open?;
    let deeper = newest.filter(|_| depth > 0).and_then(|v| unmet(&dependency, &v, solution, provider, depth - 1));
    Some(match deeper {
        Some(Unmet { clause, conclusive, .. }) => Unmet { clause: format!("{head}; {clause}"), dependency, conclusive },
        None => Unmet { clause: head, dependency, conclusive: false },
    })
}

/// The newest version of `package` in `range` the resolver learnt something about (it skips
/// pre-releases, say), with the reason it was left out, if it was.
fn newest_learnt(package: &Package, range: &Ranges<Version>, provider: &Provider) -> Option<(Version, Option<String>)> {
    let name = package.name()?;
    let (project, _) = provider.known(name)?;
    index_versions(package, provider).into_iter().rev().filter(|v| range.contains(v)).find_map(|v| {
        match provider.excluded(&project, &v) {
            Some(reason) => Some((v, Some(reason))),
            None => provider.requires(package, &v).map(|_| (v, None)),
        }
    })
}

/// A range as a requirement reads: `==1.0` for one version, else as PubGrub writes it.
fn requirement(range: &Ranges<Version>) -> String {
    match range.as_singleton() {
        Some(version) => format!("=={version}"),
        None => range.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn runs_collapse_consecutive_existing_versions() {
        let all: Vec<Version> =
            ["1.0", "1.1", "1.2", "2.0", "2.1", "3.0"].iter().map(|v| Version::from_str(v).unwrap()).collect();
        let not = |skip: &'static [&str]| move |v: &Version| !skip.iter().any(|s| Version::from_str(s).unwrap() == *v);
        assert_eq!(runs(&all, not(&[])).as_deref(), Some("1.0 to 3.0"));
        assert_eq!(runs(&all, not(&["1.2"])).as_deref(), Some("1.0 to 1.1, 2.0 to 3.0"));
        assert_eq!(runs(&all, not(&["1.0", "1.1", "1.2", "2.0", "2.1"])).as_deref(), Some("3.0"));
        assert_eq!(runs(&all, not(&["1.1", "2.0"])).as_deref(), Some("1.0, 1.2, 2.1 to 3.0"));
        assert_eq!(runs(&all, not(&["1.1", "2.0", "3.0"])).as_deref(), Some("1.0, 1.2, 2.1"));
        let alternate: Vec<Version> = (0..10).map(|i| Version::new([1, i])).collect();
        assert_eq!(runs(&alternate, |v| v.release()[1] % 2 == 0).as_deref(), Some("1.0, 1.2, 1.4, and 2 more"));
        assert_eq!(runs(&all, |_| false), None);
    }
}
