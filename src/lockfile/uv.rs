//! Reader for uv's `uv.lock` (version 1, any revision).
//!
//! uv writes the project's own workspace members (`editable` and `virtual` sources) as packages,
//! and markers on dependency edges rather than on packages. The members are not locked files:
//! they are the roots from which every package's marker, groups and extras are found
//! ([`propagate`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use pep508_rs::{ExtraName, MarkerTree, PackageName};
use serde::Deserialize;
use toml::Spanned;

use crate::lockfile::reader::{LockText, as_text, file_name, is_source_tree, note_index, unhashable, without_extras};
use crate::lockfile::{Artifact, LockFormat, Lockfile, LockfileError, Package, Selector};

/// Read first, on its own, so that a lock of another version is refused for its version and
/// not for whatever else it changed.
#[derive(Deserialize)]
struct Header {
    version: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Document {
    requires_python: Option<String>,
    /// The environments `[tool.uv] environments` limits the lock to.
    #[serde(default)]
    supported_markers: Vec<Spanned<String>>,
    #[serde(default, rename = "package")]
    packages: Vec<Spanned<PackageTable>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageTable {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    source: SourceTable,
    #[serde(default)]
    dependencies: Vec<Spanned<EdgeTable>>,
    #[serde(default)]
    optional_dependencies: BTreeMap<String, Vec<Spanned<EdgeTable>>>,
    #[serde(default)]
    dev_dependencies: BTreeMap<String, Vec<Spanned<EdgeTable>>>,
    sdist: Option<Spanned<FileTable>>,
    #[serde(default)]
    wheels: Vec<Spanned<FileTable>>,
}

/// Where a package comes from (one key is set); an edge names it to pick among packages of one
/// name.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
struct SourceTable {
    registry: Option<String>,
    editable: Option<String>,
    r#virtual: Option<String>,
    git: Option<String>,
    url: Option<String>,
    path: Option<String>,
    directory: Option<String>,
}

impl SourceTable {
    /// A workspace member: the project's own code.
    fn is_member(&self) -> bool {
        self.editable.is_some() || self.r#virtual.is_some()
    }

    /// The source as written, when it is not an index.
    fn describe_non_index(&self) -> Option<String> {
        [("git", &self.git), ("url", &self.url), ("path", &self.path), ("directory", &self.directory)]
            .into_iter()
            .find_map(|(kind, value)| value.as_ref().map(|value| format!("{kind} {value}")))
    }

    /// A local directory (`directory`, or a `path` that is no archive): the user's own tree.
    fn is_local_tree(&self) -> bool {
        self.git.is_none()
            && self.url.is_none()
            && self.path.as_deref().map_or(self.directory.is_some(), is_source_tree)
    }
}

#[derive(Deserialize)]
struct EdgeTable {
    name: Spanned<String>,
    version: Option<Spanned<String>>,
    source: Option<SourceTable>,
    marker: Option<Spanned<String>>,
    #[serde(default)]
    extra: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileTable {
    url: Option<String>,
    path: Option<String>,
    filename: Option<String>,
    hash: Option<Spanned<String>>,
    size: Option<u64>,
    upload_time: Option<toml::Value>,
}

pub fn parse(text: &str, path: &Path) -> Result<Lockfile, LockfileError> {
    let file = LockText::new(text, path, LockFormat::Uv);
    let Some(version) = file.toml::<Header>()?.version else { return Err(file.not_this_format("no version")) };
    file.check_format_version(&version, "version", "uv.lock version 1", |version| *version == toml::Value::Integer(1))?;
    let document: Document = file.toml()?;
    let mut lockfile = Lockfile::new(path, LockFormat::Uv);
    lockfile.universal = true;
    lockfile.requires_python = document.requires_python;
    for environment in &document.supported_markers {
        lockfile.environments.push(file.marker(environment.get_ref(), environment.span().start)?);
    }

    let mut packages = Vec::with_capacity(document.packages.len());
    let mut tables = Vec::with_capacity(document.packages.len());
    for spanned in document.packages {
        let location = file.location(spanned.span().start);
        let table = spanned.into_inner();
        let name = file.name(table.name.get_ref(), table.name.span().start)?;
        let version =
            table.version.as_ref().map(|version| file.version(version.get_ref(), version.span().start)).transpose()?;
        let mut artifacts = Vec::new();
        for spanned in table.sdist.iter().chain(&table.wheels) {
            artifacts.push(artifact(&file, spanned, &table.source)?);
        }
        if let Some(registry) = &table.source.registry {
            note_index(&mut lockfile.indexes, registry);
        }
        let mut dependencies: Vec<PackageName> = Vec::new();
        for edge in &table.dependencies {
            let edge_name = &edge.get_ref().name;
            let dependency = file.name(edge_name.get_ref(), edge_name.span().start)?;
            if !dependencies.contains(&dependency) {
                dependencies.push(dependency);
            }
        }
        let package = Package {
            name,
            version,
            marker: MarkerTree::TRUE,
            extras: Vec::new(),
            index: table.source.registry.clone(),
            artifacts,
            dependencies: Some(dependencies),
            groups: BTreeSet::new(),
            non_index_source: table.source.describe_non_index(),
            attestation_identities: Vec::new(),
            location,
        };
        lockfile.findings.extend(unhashable(&package, table.source.is_local_tree()));
        packages.push(package);
        tables.push(table);
    }

    let nodes = graph(&file, &packages, &tables)?;
    let states = propagate(&nodes, budget(&nodes));
    for ((mut package, state), node) in packages.into_iter().zip(states).zip(&nodes) {
        if node.member {
            continue;
        }
        // A package no root reaches (an inconsistent lock) is kept as if it were a root, so
        // that nothing the file locks goes unaudited.
        let reach = state.reach.unwrap_or(Reach { marker: MarkerTree::TRUE, groups: BTreeSet::new() });
        package.marker = reach.marker;
        package.groups = reach.groups;
        package.extras = state.extras.into_keys().collect();
        lockfile.packages.push(package);
    }
    Ok(lockfile)
}

/// A uv file entry; one without a URL or path of its own is the file of the package's source.
fn artifact(file: &LockText, spanned: &Spanned<FileTable>, source: &SourceTable) -> Result<Artifact, LockfileError> {
    let table = spanned.get_ref();
    let url = table.url.as_ref().or(table.path.as_ref()).or(source.url.as_ref()).or(source.path.as_ref());
    let hashes =
        table.hash.iter().map(|hash| file.hash(hash.get_ref(), hash.span().start)).collect::<Result<_, _>>()?;
    Ok(Artifact {
        filename: table.filename.clone().or_else(|| {
            file_name(table.url.as_deref().or(source.url.as_deref()), table.path.as_deref().or(source.path.as_deref()))
        }),
        url: url.cloned(),
        hashes,
        size: table.size,
        upload_time: table.upload_time.as_ref().map(as_text),
        location: file.location(spanned.span().start),
    })
}

// --- the dependency graph ----------------------------------------------------------------------

/// A package of the lock (member or not) in the dependency graph.
struct Node {
    member: bool,
    tables: Vec<(Table, Vec<Edge>)>,
}

/// Which of a package's dependency tables an edge is in.
enum Table {
    Dependencies,
    Optional(ExtraName),
    Dev(String),
}

struct Edge {
    /// The packages it may name: one, unless several of its name match what it says.
    to: Vec<usize>,
    marker: MarkerTree,
    extras: Vec<ExtraName>,
}

fn graph(file: &LockText, packages: &[Package], tables: &[PackageTable]) -> Result<Vec<Node>, LockfileError> {
    let mut by_name: BTreeMap<&PackageName, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        by_name.entry(&package.name).or_default().push(index);
    }
    let edge = |spanned: &Spanned<EdgeTable>| -> Result<Edge, LockfileError> {
        let table = spanned.get_ref();
        let at = spanned.span().start;
        let name = file.name(table.name.get_ref(), table.name.span().start)?;
        let version =
            table.version.as_ref().map(|version| file.version(version.get_ref(), version.span().start)).transpose()?;
        let marker = match &table.marker {
            Some(marker) => file.marker(marker.get_ref(), at)?,
            None => MarkerTree::TRUE,
        };
        let extras = table.extra.iter().map(|extra| file.extra(extra, at)).collect::<Result<_, _>>()?;
        let named = by_name.get(&name).map(Vec::as_slice).unwrap_or_default();
        let matches = |&&index: &&usize| {
            version.as_ref().is_none_or(|version| packages[index].version.as_ref() == Some(version))
                && table.source.as_ref().is_none_or(|source| *source == tables[index].source)
        };
        let mut to: Vec<usize> = named.iter().filter(matches).copied().collect();
        // An edge whose version or source matches no package of its name (a lock edited by
        // hand) may mean any of them: keeping all of them keeps them audited.
        if to.is_empty() {
            to = named.to_vec();
        }
        // uv's markers on edges test `extra` only to keep conflicting extras apart.
        Ok(Edge { to, marker: without_extras(&marker), extras })
    };
    let edges = |list: &[Spanned<EdgeTable>]| list.iter().map(edge).collect::<Result<Vec<_>, _>>();
    tables
        .iter()
        .map(|table| {
            let mut node_tables = vec![(Table::Dependencies, edges(&table.dependencies)?)];
            for (extra, list) in &table.optional_dependencies {
                let extra = file.extra(extra, table.name.span().start)?;
                node_tables.push((Table::Optional(extra), edges(list)?));
            }
            for (group, list) in &table.dev_dependencies {
                node_tables.push((Table::Dev(group.clone()), edges(list)?));
            }
            Ok(Node { member: table.source.is_member(), tables: node_tables })
        })
        .collect()
}

// --- markers, groups and extras from the roots -------------------------------------------------

/// Where and for what a package is reached.
#[derive(Clone, Debug)]
struct Reach {
    marker: MarkerTree,
    groups: BTreeSet<Selector>,
}

/// How a package is reached: at all (`None`: not yet), and with each extra.
#[derive(Default)]
struct State {
    reach: Option<Reach>,
    extras: BTreeMap<ExtraName, Option<Reach>>,
}

/// Widens `slot` to also cover `arriving`; whether it grew.
fn widen(slot: &mut Option<Reach>, arriving: &Reach) -> bool {
    let Some(reach) = slot else {
        *slot = Some(arriving.clone());
        return true;
    };
    let mut marker = reach.marker.clone();
    marker.or(arriving.marker.clone());
    // Markers are canonical, so an equal one is the same set of environments.
    let grew = marker != reach.marker || !arriving.groups.is_subset(&reach.groups);
    reach.marker = marker;
    reach.groups.extend(arriving.groups.iter().cloned());
    grew
}

/// How many nodes [`propagate`] may visit. A package's marker is the disjunction over paths of
/// the edge markers' conjunction, and a cycle only narrows a path's: the simple paths decide.
/// The queue is first in, first out, so every round of visits extends the known paths by one
/// edge; a simple path visits each (package, extra) state at most once.
fn budget(nodes: &[Node]) -> usize {
    let states = nodes.len() + nodes.iter().map(|node| node.tables.len()).sum::<usize>();
    nodes.len().saturating_mul(states + 1)
}

/// Each package's reach, to a fixpoint, from the workspace members (or, in a lock without
/// members such as a script's, from every package):
/// - a member is reached everywhere; its `dependencies` for the default selection, its
///   `optional-dependencies.X` for the extra X and its `dev-dependencies.G` for the group G;
/// - an edge from a reached package carries the package's reach narrowed by the edge marker,
///   and the extras it names; an `optional-dependencies.X` edge only where the package is
///   reached with X.
///
/// Should `budget` run out before the fixpoint, every package is taken as installed always and
/// everywhere rather than left with what was found so far.
fn propagate(nodes: &[Node], budget: usize) -> Vec<State> {
    let everywhere = |groups: BTreeSet<Selector>| Some(Reach { marker: MarkerTree::TRUE, groups });
    let has_members = nodes.iter().any(|node| node.member);
    let mut states: Vec<State> = nodes
        .iter()
        .map(|node| match (node.member, has_members) {
            (true, _) => State {
                reach: everywhere(BTreeSet::from([Selector::Default])),
                extras: node
                    .tables
                    .iter()
                    .filter_map(|(table, _)| match table {
                        Table::Optional(extra) => {
                            Some((extra.clone(), everywhere(BTreeSet::from([Selector::extra(extra.as_ref())]))))
                        }
                        _ => None,
                    })
                    .collect(),
            },
            (false, false) => State { reach: everywhere(BTreeSet::new()), extras: BTreeMap::new() },
            (false, true) => State::default(),
        })
        .collect();
    let mut queue: VecDeque<usize> = (0..nodes.len()).collect();
    let mut queued = vec![true; nodes.len()];
    let mut visits_left = budget;
    while let Some(from) = queue.pop_front() {
        if visits_left == 0 {
            for state in &mut states {
                state.reach = everywhere(BTreeSet::new());
            }
            break;
        }
        visits_left -= 1;
        queued[from] = false;
        for (table, edges) in &nodes[from].tables {
            let context = match table {
                Table::Dependencies => states[from].reach.clone(),
                Table::Optional(extra) => states[from].extras.get(extra).cloned().flatten(),
                // Only a member's own groups are ever installed.
                Table::Dev(group) => {
                    everywhere(BTreeSet::from([Selector::group(group)])).filter(|_| nodes[from].member)
                }
            };
            let Some(context) = context else { continue };
            for edge in edges {
                let mut marker = context.marker.clone();
                marker.and(edge.marker.clone());
                let arriving = Reach { marker, groups: context.groups.clone() };
                for &to in &edge.to {
                    let state = &mut states[to];
                    let mut grew = widen(&mut state.reach, &arriving);
                    for extra in &edge.extras {
                        grew |= widen(state.extras.entry(extra.clone()).or_default(), &arriving);
                    }
                    if grew && !queued[to] {
                        queued[to] = true;
                        queue.push_back(to);
                    }
                }
            }
        }
    }
    states
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::check::findings::Severity;
    use crate::lockfile::pylock::tests as pylock;
    use crate::lockfile::reader::test_support::{summary, texts};

    const SAMPLE: &str = r#"version = 1
revision = 3
requires-python = ">=3.9"
resolution-markers = [
    "python_full_version >= '3.10'",
    "python_full_version < '3.10'",
]

[manifest]
members = ["demo"]

[[package]]
name = "click"
version = "8.1.7"
source = { registry = "http://127.0.0.1:9/simple" }
dependencies = [
    { name = "colorama", marker = "sys_platform == 'win32'" },
]
sdist = { url = "http://127.0.0.1:9/files/click-8.1.7.tar.gz", hash = "sha256:79bd720a93b05043b30d7c6a9f3e1baeb6fc540fcef9e767034fb79fe298fc2c", size = 336121, upload-time = "2023-08-17T17:29:11.868Z" }
wheels = [
    { url = "http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl", hash = "sha256:522836119b7383b214ab374ea35d65a3857b18f88d806dc194604eb7adeba31f", size = 97941, upload-time = "2023-08-17T17:29:10.021Z" },
]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "http://127.0.0.1:9/simple" }
sdist = { url = "http://127.0.0.1:9/files/colorama-0.4.6.tar.gz", hash = "sha256:3e874d25f90ebccae879754fbe7d313c071d5226eb96938a6d13092c455106a3", size = 27697, upload-time = "2022-10-25T02:36:22.414Z" }
wheels = [
    { url = "http://127.0.0.1:9/files/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:292d9104c3b56c179f4ef7da15ace71415913cca824b1c8cbd108adba63ee200", size = 25335, upload-time = "2022-10-25T02:36:20.889Z" },
]

[[package]]
name = "demo"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "click", marker = "implementation_name == 'cpython'" },
    { name = "direct" },
    { name = "gitdep" },
    { name = "idna", version = "2.10", source = { registry = "http://127.0.0.1:9/simple" }, marker = "python_full_version < '3.10'" },
    { name = "idna", version = "3.7", source = { registry = "http://127.0.0.1:9/simple" }, marker = "python_full_version >= '3.10'" },
]

[package.optional-dependencies]
socks = [
    { name = "urllib3", extra = ["socks"] },
]

[package.dev-dependencies]
dev = [
    { name = "iniconfig" },
]

[package.metadata]
requires-dist = [
    { name = "click", marker = "implementation_name == 'cpython'", specifier = "==8.1.7" },
    { name = "gitdep", git = "http://127.0.0.1:9/git/gitdep.git?rev=v0.3" },
    { name = "idna", marker = "python_full_version < '3.10'", specifier = "<3" },
    { name = "idna", marker = "python_full_version >= '3.10'", specifier = ">=3.7" },
    { name = "urllib3", extras = ["socks"], marker = "extra == 'socks'" },
]
provides-extras = ["socks"]

[package.metadata.requires-dev]
dev = [{ name = "iniconfig" }]

[[package]]
name = "direct"
version = "1.0+local"
source = { url = "http://127.0.0.1:9/direct/direct-1.0%2Blocal.tar.gz" }
sdist = { hash = "sha256:cc4da79297d470b0a09f5df17c5111fde3c2cd5c9197a276a4c3a08d845eb9f8", size = 1234 }

[[package]]
name = "gitdep"
version = "0.3.0"
source = { git = "http://127.0.0.1:9/git/gitdep.git?rev=v0.3#0123abcd0123abcd0123abcd0123abcd0123abcd" }

[[package]]
name = "idna"
version = "2.10"
source = { registry = "http://127.0.0.1:9/simple" }
resolution-markers = [
    "python_full_version < '3.10'",
]
sdist = { url = "http://127.0.0.1:9/files/idna-2.10.tar.gz", hash = "sha256:7ceb95c821a7c71c51cd1f69f46c73fa15f167d1f2a36296314a96e0982faee9", size = 175616, upload-time = "2020-06-27T23:45:05.21Z" }

[[package]]
name = "idna"
version = "3.7"
source = { registry = "http://127.0.0.1:9/simple" }
resolution-markers = [
    "python_full_version >= '3.10'",
]
wheels = [
    { url = "http://127.0.0.1:9/files/idna-3.7-py3-none-any.whl", hash = "sha256:493b166aaa1dfc7bd410edeedfe6c037a3410d033385b2fed2483b6670a77e40", size = 66836, upload-time = "2024-04-11T03:34:41.447Z" },
]

[[package]]
name = "iniconfig"
version = "2.0.0"
source = { registry = "http://127.0.0.1:9/mirror/simple" }
wheels = [
    { url = "http://127.0.0.1:9/mirror/files/iniconfig-2.0.0-py3-none-any.whl", hash = "sha256:ca2613b381d3bd37edf76e6b9097be13cbe34e2f0f7b6d2d574df309bc773b0d", size = 5892, upload-time = "2023-01-07T11:08:09.864Z" },
]

[[package]]
name = "pysocks"
version = "1.7.1"
source = { registry = "http://127.0.0.1:9/simple" }
wheels = [
    { url = "http://127.0.0.1:9/files/PySocks-1.7.1-py3-none-any.whl", hash = "sha256:f922ba8013b8c978a2bee1d933be1dba12f0e60646e2ff8664ee59cceb4c8b35", size = 16725, upload-time = "2019-09-20T02:06:22.938Z" },
]

[[package]]
name = "urllib3"
version = "2.2.1"
source = { registry = "http://127.0.0.1:9/simple" }
wheels = [
    { url = "http://127.0.0.1:9/files/urllib3-2.2.1-py3-none-any.whl", hash = "sha256:019a8d88f9111fd193e2c058d4914b56180249b7ddadf55277d2d37ca5de364b", size = 121067, upload-time = "2024-02-18T19:04:13.41Z" },
]

[package.optional-dependencies]
socks = [
    { name = "pysocks" },
]
"#;

    fn read(text: &str) -> Result<Lockfile, LockfileError> {
        parse(text, Path::new("uv.lock"))
    }

    fn error(text: &str) -> String {
        read(text).expect_err("the lock should be refused").to_string()
    }

    /// Each package as `name version: marker groups extras`.
    fn reaches(lockfile: &Lockfile) -> Vec<String> {
        lockfile
            .packages
            .iter()
            .map(|package| {
                format!(
                    "{} {}: [{}] {:?} {:?}",
                    package.name,
                    package.version.as_ref().map_or("-".to_string(), ToString::to_string),
                    package.marker.try_to_string().unwrap_or_else(|| "true".to_string()),
                    package.groups,
                    package.extras.iter().map(ToString::to_string).collect::<Vec<_>>()
                )
            })
            .collect()
    }

    #[test]
    fn supported_markers_bound_the_environments() {
        let lock = read("version = 1\nrevision = 3\nsupported-markers = [\"sys_platform == 'darwin'\", \"sys_platform == 'linux'\"]\n").unwrap();
        let environments: Vec<String> =
            lock.environments.iter().filter_map(MarkerTree::contents).map(|m| m.to_string()).collect();
        assert_eq!(environments, ["sys_platform == 'darwin'", "sys_platform == 'linux'"]);
    }

    #[test]
    fn a_universal_lock_reads_into_the_model() {
        insta::assert_snapshot!(summary(&read(SAMPLE).unwrap()), @r#"
            universal=true requires-python=>=3.9 indexes=["http://127.0.0.1:9/simple", "http://127.0.0.1:9/mirror/simple"]
            12: click 8.1.7 marker=[implementation_name == 'cpython'] groups=["default"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some(["colorama"])
              19: click-8.1.7.tar.gz url=http://127.0.0.1:9/files/click-8.1.7.tar.gz size=Some(336121) upload-time=2023-08-17T17:29:11.868Z
                19: sha256:79bd720a93b0
              21: click-8.1.7-py3-none-any.whl url=http://127.0.0.1:9/files/click-8.1.7-py3-none-any.whl size=Some(97941) upload-time=2023-08-17T17:29:10.021Z
                21: sha256:522836119b73
            24: colorama 0.4.6 marker=[implementation_name == 'cpython' and sys_platform == 'win32'] groups=["default"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some([])
              28: colorama-0.4.6.tar.gz url=http://127.0.0.1:9/files/colorama-0.4.6.tar.gz size=Some(27697) upload-time=2022-10-25T02:36:22.414Z
                28: sha256:3e874d25f90e
              30: colorama-0.4.6-py2.py3-none-any.whl url=http://127.0.0.1:9/files/colorama-0.4.6-py2.py3-none-any.whl size=Some(25335) upload-time=2022-10-25T02:36:20.889Z
                30: sha256:292d9104c3b5
            68: direct 1.0+local marker=[true] groups=["default"] extras=[] index=- source=url http://127.0.0.1:9/direct/direct-1.0%2Blocal.tar.gz dependencies=Some([])
              72: direct-1.0+local.tar.gz url=http://127.0.0.1:9/direct/direct-1.0%2Blocal.tar.gz size=Some(1234) upload-time=-
                72: sha256:cc4da79297d4
            74: gitdep 0.3.0 marker=[true] groups=["default"] extras=[] index=- source=git http://127.0.0.1:9/git/gitdep.git?rev=v0.3#0123abcd0123abcd0123abcd0123abcd0123abcd dependencies=Some([])
            79: idna 2.10 marker=[python_full_version < '3.10'] groups=["default"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some([])
              86: idna-2.10.tar.gz url=http://127.0.0.1:9/files/idna-2.10.tar.gz size=Some(175616) upload-time=2020-06-27T23:45:05.21Z
                86: sha256:7ceb95c821a7
            88: idna 3.7 marker=[python_full_version >= '3.10'] groups=["default"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some([])
              96: idna-3.7-py3-none-any.whl url=http://127.0.0.1:9/files/idna-3.7-py3-none-any.whl size=Some(66836) upload-time=2024-04-11T03:34:41.447Z
                96: sha256:493b166aaa1d
            99: iniconfig 2.0.0 marker=[true] groups=["group:dev"] extras=[] index=http://127.0.0.1:9/mirror/simple source=- dependencies=Some([])
              104: iniconfig-2.0.0-py3-none-any.whl url=http://127.0.0.1:9/mirror/files/iniconfig-2.0.0-py3-none-any.whl size=Some(5892) upload-time=2023-01-07T11:08:09.864Z
                104: sha256:ca2613b381d3
            107: pysocks 1.7.1 marker=[true] groups=["extra:socks"] extras=[] index=http://127.0.0.1:9/simple source=- dependencies=Some([])
              112: PySocks-1.7.1-py3-none-any.whl url=http://127.0.0.1:9/files/PySocks-1.7.1-py3-none-any.whl size=Some(16725) upload-time=2019-09-20T02:06:22.938Z
                112: sha256:f922ba8013b8
            115: urllib3 2.2.1 marker=[true] groups=["extra:socks"] extras=["socks"] index=http://127.0.0.1:9/simple source=- dependencies=Some([])
              120: urllib3-2.2.1-py3-none-any.whl url=http://127.0.0.1:9/files/urllib3-2.2.1-py3-none-any.whl size=Some(121067) upload-time=2024-02-18T19:04:13.41Z
                120: sha256:019a8d88f911
            error unhashable uv.lock:68: direct 1.0+local comes from url http://127.0.0.1:9/direct/direct-1.0%2Blocal.tar.gz: its recorded hashes pin it, but no index vouches for them, so hashlock cannot check them
            error unhashable uv.lock:74: gitdep 0.3.0 comes from git http://127.0.0.1:9/git/gitdep.git?rev=v0.3#0123abcd0123abcd0123abcd0123abcd0123abcd: no index vouches for it, so its hashes cannot be checked
            "#);
    }

    /// A local directory is the user's own tree; a local archive file could be swapped, and a
    /// repository is code from elsewhere.
    #[test]
    fn a_local_directory_is_info_and_an_archive_or_git_an_error() {
        let text = "version = 1\n\n[[package]]\nname = \"tree\"\nversion = \"1.0\"\nsource = { directory = \"vendor/tree\" }\n\n\
                    [[package]]\nname = \"pathtree\"\nversion = \"1.0\"\nsource = { path = \"../pathtree/\" }\n\n\
                    [[package]]\nname = \"wheel\"\nversion = \"1.0\"\nsource = { path = \"dist/wheel-1.0-py3-none-any.WHL\" }\n\
                    wheels = [{ hash = \"sha256:ab\" }]\n\n\
                    [[package]]\nname = \"gitdep\"\nversion = \"0.3.0\"\nsource = { git = \"http://127.0.0.1:9/gitdep.git#0123\" }\n";
        let lockfile = read(text).unwrap();
        let found: Vec<(Option<&str>, Severity)> =
            lockfile.findings.iter().map(|f| (f.package.as_deref(), f.severity)).collect();
        assert_eq!(
            found,
            [
                (Some("tree"), Severity::Info),
                (Some("pathtree"), Severity::Info),
                (Some("wheel"), Severity::Error),
                (Some("gitdep"), Severity::Error)
            ]
        );
        assert_eq!(
            lockfile.findings[0].message,
            "tree 1.0 comes from directory vendor/tree: it is built from the local source tree, which no hash covers"
        );
        assert_eq!(lockfile.packages[2].artifacts[0].filename.as_deref(), Some("wheel-1.0-py3-none-any.WHL"));
    }

    #[test]
    fn a_lock_without_members_roots_every_package() {
        let text = "version = 1\nrevision = 2\nrequires-python = \">=3.12\"\n\n[manifest]\nrequirements = [{ name = \"click\" }]\n\n\
                    [[package]]\nname = \"click\"\nversion = \"8.1.7\"\nsource = { registry = \"http://127.0.0.1:9/simple\" }\n\
                    dependencies = [{ name = \"colorama\", extra = [\"fancy\"], marker = \"sys_platform == 'win32'\" }]\n\n\
                    [[package]]\nname = \"colorama\"\nversion = \"0.4.6\"\nsource = { registry = \"http://127.0.0.1:9/simple\" }\n";
        assert_eq!(
            reaches(&read(text).unwrap()),
            ["click 8.1.7: [true] {} []", "colorama 0.4.6: [true] {} [\"fancy\"]"]
        );
    }

    #[test]
    fn a_member_reached_with_an_extra_installs_that_extra_by_default() {
        let text = "version = 1\n\n[[package]]\nname = \"app\"\nsource = { editable = \".\" }\n\
                    dependencies = [{ name = \"lib\", extra = [\"fast\"], marker = \"os_name == 'posix'\" }]\n\n\
                    [[package]]\nname = \"lib\"\nversion = \"0.2.0\"\nsource = { editable = \"packages/lib\" }\n\n\
                    [package.optional-dependencies]\nfast = [{ name = \"speedup\" }]\n\n\
                    [[package]]\nname = \"speedup\"\nversion = \"1.0\"\nsource = { registry = \"http://127.0.0.1:9/simple\" }\n\n\
                    [[package]]\nname = \"stray\"\nversion = \"1.0\"\nsource = { registry = \"http://127.0.0.1:9/simple\" }\n";
        let lockfile = read(text).unwrap();
        // A member is reached everywhere whatever the edge says; a package no root reaches is
        // kept as if it were one.
        assert_eq!(
            reaches(&lockfile),
            ["speedup 1.0: [true] {Default, Extra(\"fast\")} []", "stray 1.0: [true] {} []"]
        );
    }

    #[test]
    fn an_edge_that_matches_no_package_of_its_name_reaches_every_one() {
        let text = "version = 1\n\n[[package]]\nname = \"app\"\nsource = { virtual = \".\" }\n\
                    dependencies = [{ name = \"lib\", version = \"9.9\", marker = \"os_name == 'nt'\" }]\n\n\
                    [[package]]\nname = \"lib\"\nversion = \"1.0\"\nsource = { registry = \"http://127.0.0.1:9/simple\" }\n";
        assert_eq!(reaches(&read(text).unwrap()), ["lib 1.0: [os_name == 'nt'] {Default} []"]);
    }

    /// uv keeps conflicting extras apart with `extra` markers of its own on edges: the model's
    /// markers are for environments, so both versions apply everywhere (here they are reached
    /// only through those edges).
    #[test]
    fn conflict_markers_are_not_environments() {
        let text = r#"version = 1
revision = 3
requires-python = ">=3.12"
conflicts = [[
    { package = "project", extra = "extra1" },
    { package = "project", extra = "extra2" },
]]

[[package]]
name = "project"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "sortedcollections" }]

[[package]]
name = "sortedcollections"
version = "2.1.0"
source = { registry = "http://127.0.0.1:9/simple" }
dependencies = [
    { name = "sortedcontainers", version = "2.3.0", source = { registry = "http://127.0.0.1:9/simple" }, marker = "extra == 'extra-7-project-extra1'" },
    { name = "sortedcontainers", version = "2.4.0", source = { registry = "http://127.0.0.1:9/simple" }, marker = "extra != 'extra-7-project-extra1' or extra == 'extra-7-project-extra2'" },
]

[[package]]
name = "sortedcontainers"
version = "2.3.0"
source = { registry = "http://127.0.0.1:9/simple" }

[[package]]
name = "sortedcontainers"
version = "2.4.0"
source = { registry = "http://127.0.0.1:9/simple" }
"#;
        assert_eq!(
            reaches(&read(text).unwrap()),
            [
                "sortedcollections 2.1.0: [true] {Default} []",
                "sortedcontainers 2.3.0: [true] {Default} []",
                "sortedcontainers 2.4.0: [true] {Default} []"
            ]
        );
    }

    #[test]
    fn a_propagation_cut_short_takes_every_package_as_always_installed() {
        let file = LockText::new(SAMPLE, Path::new("uv.lock"), LockFormat::Uv);
        let document: Document = file.toml().unwrap();
        let tables: Vec<PackageTable> = document.packages.into_iter().map(Spanned::into_inner).collect();
        let packages: Vec<Package> = tables
            .iter()
            .map(|table| Package::named(table.name.get_ref(), file.location(table.name.span().start)))
            .collect();
        let nodes = graph(&file, &packages, &tables).unwrap();
        assert!(budget(&nodes) > nodes.len());
        let everywhere_always = |states: &[State]| {
            states.iter().all(|s| s.reach.as_ref().is_some_and(|r| r.marker.is_true() && r.groups.is_empty()))
        };
        assert!(!everywhere_always(&propagate(&nodes, budget(&nodes))));
        assert!(everywhere_always(&propagate(&nodes, 1)));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            error("version = 1\n\n[[package]]\nname = \"a\"\nsource = { registry = \"x\" \n"),
            "uv.lock:5: unclosed inline table, expected `}`"
        );
        assert_eq!(
            error("version = 1\n[[package]]\nname = \"a\"\nwheels = [\n  { url = \"x\", size = \"big\" },\n]\n"),
            "uv.lock:5: invalid type: string \"big\", expected u64"
        );
        assert_eq!(
            error("version = 1\n[[package]]\nname = \"a\"\nsdist = { url = \"x.tar.gz\", hash = \"deadbeef\" }\n"),
            "uv.lock:4: `deadbeef` is not a hash: write it as algorithm:hex, like sha256:…"
        );
        assert_eq!(
            error("version = 1\n[[package]]\nname = \"a\"\ndependencies = [\n    { name = \"b\", marker = \"os_name ==\" },\n]\n")
                .split(": ")
                .take(2)
                .collect::<Vec<_>>(),
            ["uv.lock:5", "`os_name ==` is not a PEP 508 marker"]
        );
    }

    #[test]
    fn only_version_1_is_read() {
        assert_eq!(
            error("version = 2\nrevision = 1\n[[package]]\nname = 3\n"),
            "uv.lock:1: version 2 is not supported: hashlock reads uv.lock version 1"
        );
        assert_eq!(
            error("\nversion = \"1\"\n"),
            "uv.lock:2: version 1 is not supported: hashlock reads uv.lock version 1"
        );
        assert_eq!(
            error("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n"),
            "uv.lock:1: does not look like a uv.lock: no version; pass --lock-format if it is another format"
        );
        assert!(read("version = 1\nrevision = 99\n").is_ok_and(|lock| lock.packages.is_empty() && lock.universal));
    }

    proptest! {
        /// Both TOML readers, on any text and on a few edits of either sample.
        #[test]
        fn toml_readers_never_panic(text in texts(vec![SAMPLE, pylock::SAMPLE])) {
            for format in [LockFormat::Uv, LockFormat::Pylock] {
                let _ = crate::lockfile::parse(&text, Path::new("lock"), format);
            }
        }
    }
}
