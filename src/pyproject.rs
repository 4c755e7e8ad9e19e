//! A project's `pyproject.toml` as an input (`-r pyproject.toml`), read as `uv pip compile
//! pyproject.toml` reads it: `[project] dependencies` are root requirements, and so are the
//! requirements of the `[project.optional-dependencies]` extras and the PEP 735
//! `[dependency-groups]` asked for. A self-reference (`myproj[extra]` in the project's own
//! requirements or groups) stands for that extra's requirements, under its marker.
//!
//! Where `[project] dynamic` leaves the dependencies (or the optional dependencies asked for) to
//! the build backend, or the file has no `[project]` table but a build system (or a `setup.py`
//! beside it), only a PEP 517 build of the project tells them ([`Pyproject::needs_build`], then
//! [`Pyproject::set_built`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::anyhow;
use pep508_rs::{
    ExtraName, ExtraOperator, MarkerExpression, MarkerTree, MarkerValueExtra, PackageName, Requirement, VersionOrUrl,
};
use serde::Deserialize;
use toml::Spanned;

use crate::index::http::redact_text;
use crate::lockfile::{LineIndex, Location};
use crate::metadata::Metadata;
use crate::requirement::one_line;
use crate::resolve::markers::normalize;

/// `-r FILE` is a pyproject.toml when its file name is this.
const FILE_NAME: &str = "pyproject.toml";

pub fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == FILE_NAME)
}

/// A dependency group's name, normalised as PEP 735 says (as PEP 503 normalises project names,
/// which is how PEP 685 normalises extras).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupName(String);

impl FromStr for GroupName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        parse_extra(name)
            .map(|normal| Self(normal.to_string()))
            .map_err(|_| format!("`{name}` is not a valid group name"))
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An extra's name, normalised (PEP 685).
pub fn parse_extra(name: &str) -> Result<ExtraName, String> {
    match ExtraName::from_str(name) {
        Ok(extra) if !name.is_empty() => Ok(extra),
        _ => Err(format!("`{name}` is not a valid extra name")),
    }
}

/// The extras and groups the command line asks for.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub extras: Vec<ExtraName>,
    pub all_extras: bool,
    pub groups: Vec<GroupName>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        !self.wants_extras() && self.groups.is_empty()
    }

    fn wants_extras(&self) -> bool {
        self.all_extras || !self.extras.is_empty()
    }
}

/// What a pyproject.toml gives as requirements.
#[derive(Clone, Debug)]
pub struct Pyproject {
    pub path: PathBuf,
    /// The project's own name, which self-references use.
    name: Option<PackageName>,
    /// The dependencies, then the extras' requirements with `extra == 'NAME'` in their marker,
    /// as core metadata lists them.
    requires: Vec<Requirement>,
    extras: BTreeSet<ExtraName>,
    /// Left to the build backend, until [`Self::set_built`].
    dynamic_dependencies: bool,
    dynamic_extras: bool,
    /// Each group's requirements, its includes expanded.
    groups: BTreeMap<GroupName, Vec<Requirement>>,
}

/// The parts of a pyproject.toml that give requirements (PEP 621, PEP 735).
#[derive(Deserialize)]
struct FileTables {
    project: Option<Spanned<ProjectTable>>,
    #[serde(rename = "dependency-groups")]
    dependency_groups: Option<BTreeMap<String, Spanned<Vec<Spanned<toml::Value>>>>>,
    #[serde(rename = "build-system")]
    build_system: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ProjectTable {
    name: Option<Spanned<String>>,
    dependencies: Option<Vec<Spanned<String>>>,
    optional_dependencies: Option<BTreeMap<String, Spanned<Vec<Spanned<String>>>>>,
    #[serde(default)]
    dynamic: Vec<String>,
}

/// One entry of a dependency group.
enum GroupEntry {
    Requirement(Requirement),
    /// `{include-group = "NAME"}`, at this byte offset.
    Include(GroupName, usize),
}

/// Reads `path`.
pub fn read(path: &Path) -> anyhow::Result<Pyproject> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
    parse(&text, path)
}

/// Parses the text of the pyproject.toml at `path`; errors are one line, `PATH:LINE: what`.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<Pyproject> {
    let file = SourceFile { path, lines: LineIndex::new(text) };
    let tables: FileTables = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        file.error(offset, format!("invalid TOML: {}", one_line(&e.message())))
    })?;
    let groups = file.groups(tables.dependency_groups.unwrap_or_default())?;
    let mut pyproject = Pyproject {
        path: path.to_path_buf(),
        name: None,
        requires: Vec::new(),
        extras: BTreeSet::new(),
        dynamic_dependencies: false,
        dynamic_extras: false,
        groups,
    };
    let Some(project) = tables.project else {
        // No [project]: the backend alone knows the dependencies, unless there is no backend
        // (PEP 735 allows a file of dependency groups alone). pip builds a setup.py without
        // [build-system] with setuptools.
        let built = tables.build_system.is_some() || path.with_file_name("setup.py").is_file();
        pyproject.dynamic_dependencies = built;
        pyproject.dynamic_extras = built;
        return Ok(pyproject);
    };
    let offset = project.span().start;
    let project = project.into_inner();
    let name = project.name.ok_or_else(|| file.error(offset, "[project] has no `name`"))?;
    pyproject.name = Some(
        PackageName::from_str(name.get_ref())
            .map_err(|_| file.error(name.span().start, format!("`{}` is not a valid project name", name.get_ref())))?,
    );
    pyproject.dynamic_dependencies = project.dynamic.iter().any(|field| field == "dependencies");
    pyproject.dynamic_extras = project.dynamic.iter().any(|field| field == "optional-dependencies");
    for text in project.dependencies.unwrap_or_default() {
        pyproject.requires.push(file.requirement(&text)?);
    }
    for (extra, requirements) in project.optional_dependencies.unwrap_or_default() {
        let name = parse_extra(&extra).map_err(|e| file.error(requirements.span().start, e))?;
        for text in requirements.into_inner() {
            let mut requirement = file.requirement(&text)?;
            requirement.marker.and(MarkerTree::expression(MarkerExpression::Extra {
                operator: ExtraOperator::Equal,
                name: MarkerValueExtra::Extra(name.clone()),
            }));
            pyproject.requires.push(requirement);
        }
        pyproject.extras.insert(name);
    }
    Ok(pyproject)
}

/// The file being read, for error lines.
struct SourceFile<'a> {
    path: &'a Path,
    lines: LineIndex,
}

impl SourceFile<'_> {
    fn error(&self, offset: usize, message: impl fmt::Display) -> anyhow::Error {
        let location = Location { file: self.path.to_path_buf(), line: self.lines.line(offset) };
        anyhow!("{location}: {message}")
    }

    /// A requirement from the index: neither a URL nor a path.
    fn requirement(&self, text: &Spanned<String>) -> anyhow::Result<Requirement> {
        let at = text.span().start;
        let shown = redact_text(text.get_ref());
        let requirement = crate::requirement::parse(text.get_ref())
            .map_err(|message| self.error(at, format!("invalid requirement `{shown}`: {message}")))?;
        if matches!(requirement.version_or_url, Some(VersionOrUrl::Url(_))) {
            return Err(self.error(
                at,
                format!("`{shown}`: direct URL requirements are not supported; hashlock resolves from an index"),
            ));
        }
        Ok(requirement)
    }

    /// `[dependency-groups]`, each group with its includes expanded (PEP 735): an include of a
    /// group the file does not declare, and groups that include each other, are errors.
    fn groups(
        &self,
        declared: BTreeMap<String, Spanned<Vec<Spanned<toml::Value>>>>,
    ) -> anyhow::Result<BTreeMap<GroupName, Vec<Requirement>>> {
        let mut groups: BTreeMap<GroupName, Vec<GroupEntry>> = BTreeMap::new();
        for (name, entries) in declared {
            let at = entries.span().start;
            let group = GroupName::from_str(&name).map_err(|e| self.error(at, e))?;
            if groups.contains_key(&group) {
                return Err(
                    self.error(at, format!("dependency group `{group}` is declared twice (names are normalised)"))
                );
            }
            let entries = entries.into_inner().iter().map(|entry| self.group_entry(entry)).collect::<Result<_, _>>()?;
            groups.insert(group, entries);
        }
        let mut expanded: BTreeMap<GroupName, Vec<Requirement>> = BTreeMap::new();
        for group in groups.keys() {
            self.expand(group, &groups, &mut expanded)?;
        }
        Ok(expanded)
    }

    fn group_entry(&self, entry: &Spanned<toml::Value>) -> anyhow::Result<GroupEntry> {
        let at = entry.span().start;
        match entry.get_ref() {
            toml::Value::String(text) => {
                Ok(GroupEntry::Requirement(self.requirement(&Spanned::new(entry.span(), text.clone()))?))
            }
            toml::Value::Table(table) => match (table.len(), table.get("include-group")) {
                (1, Some(toml::Value::String(name))) => {
                    Ok(GroupEntry::Include(GroupName::from_str(name).map_err(|e| self.error(at, e))?, at))
                }
                _ => Err(self.error(at, "a table in a dependency group must be {include-group = \"NAME\"} alone")),
            },
            _ => {
                Err(self
                    .error(at, "a dependency group holds requirement strings and {include-group = \"NAME\"} tables"))
            }
        }
    }

    /// Expands `root` into `expanded`, with every group it includes, depth first without
    /// recursion (a long chain of includes cannot overflow the stack); each group is expanded
    /// once, and keeps one copy of each requirement.
    fn expand(
        &self,
        root: &GroupName,
        groups: &BTreeMap<GroupName, Vec<GroupEntry>>,
        expanded: &mut BTreeMap<GroupName, Vec<Requirement>>,
    ) -> anyhow::Result<()> {
        // The includes being expanded, each with the index of its next entry.
        let mut path: Vec<(&GroupName, usize)> = vec![(root, 0)];
        while let Some((group, next)) = path.last_mut() {
            let group: &GroupName = group;
            let entries = &groups[group];
            let Some(entry) = entries.get(*next) else {
                let mut requirements: Vec<Requirement> = Vec::new();
                for entry in entries {
                    let included = match entry {
                        GroupEntry::Requirement(requirement) => std::slice::from_ref(requirement),
                        GroupEntry::Include(other, _) => expanded[other].as_slice(),
                    };
                    for requirement in included {
                        if !requirements.contains(requirement) {
                            requirements.push(requirement.clone());
                        }
                    }
                }
                expanded.insert(group.clone(), requirements);
                path.pop();
                continue;
            };
            *next += 1;
            let GroupEntry::Include(other, at) = entry else { continue };
            if expanded.contains_key(other) {
                continue;
            }
            let Some((other, _)) = groups.get_key_value(other) else {
                return Err(
                    self.error(*at, format!("dependency group `{group}` includes `{other}`, which is not declared"))
                );
            };
            if let Some(start) = path.iter().position(|(member, _)| *member == other) {
                let cycle: Vec<String> = path[start..].iter().map(|(member, _)| member.to_string()).collect();
                return Err(
                    self.error(*at, format!("dependency groups include each other: {} -> {other}", cycle.join(" -> ")))
                );
            }
            path.push((other, 0));
        }
        Ok(())
    }
}

impl Pyproject {
    /// Whether only a build tells what `selection` needs of this project.
    pub fn needs_build(&self, selection: &Selection) -> bool {
        self.dynamic_dependencies || (self.dynamic_extras && selection.wants_extras())
    }

    /// The project's directory, which a build builds.
    pub fn directory(&self) -> &Path {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }

    /// Takes the dependencies and extras from the metadata a build of the project gave.
    pub fn set_built(&mut self, metadata: Metadata) {
        self.name = Some(metadata.name);
        self.requires = metadata.requires_dist;
        self.extras = metadata.provides_extra.into_iter().collect();
        self.dynamic_dependencies = false;
        self.dynamic_extras = false;
    }

    pub fn has_extra(&self, extra: &ExtraName) -> bool {
        self.extras.contains(extra)
    }

    pub fn has_group(&self, group: &GroupName) -> bool {
        self.groups.contains_key(group)
    }

    /// The root requirements for `selection`: the dependencies, then what the selected extras
    /// and groups this project has add, markers kept and self-references expanded.
    pub fn requirements(&self, selection: &Selection) -> Vec<Requirement> {
        let mut roots = Vec::new();
        // The dependencies (`None`) and each extra to add, with the marker under which it is
        // wanted: a self-reference adds its extras under its own marker.
        let mut wanted: VecDeque<(Option<ExtraName>, MarkerTree)> = VecDeque::from([(None, MarkerTree::TRUE)]);
        let extras = self.extras.iter().filter(|extra| selection.all_extras || selection.extras.contains(extra));
        wanted.extend(extras.map(|extra| (Some(extra.clone()), MarkerTree::TRUE)));
        for requirement in selection.groups.iter().filter_map(|group| self.groups.get(group)).flatten() {
            self.add(requirement, normalize(&requirement.marker, &[]), &mut roots, &mut wanted);
        }
        // Where each extra's requirements are added already: each is added again only where it
        // was not (which also ends extras that name each other).
        let mut covered: HashMap<Option<ExtraName>, MarkerTree> = HashMap::new();
        while let Some((extra, mut context)) = wanted.pop_front() {
            let covered = covered.entry(extra.clone()).or_insert(MarkerTree::FALSE);
            let wider = context.clone();
            context.and(covered.negate());
            if context.is_false() {
                continue;
            }
            covered.or(wider);
            for requirement in &self.requires {
                let mut marker = normalize(&requirement.marker, extra.as_slice());
                // An extra adds only what the dependencies do not already need.
                if extra.is_some() {
                    marker.and(normalize(&requirement.marker, &[]).negate());
                }
                marker.and(context.clone());
                if !marker.is_false() {
                    self.add(requirement, marker, &mut roots, &mut wanted);
                }
            }
        }
        roots
    }

    /// `requirement` needed under `marker`: a root, or for a self-reference, its extras wanted.
    fn add(
        &self,
        requirement: &Requirement,
        marker: MarkerTree,
        roots: &mut Vec<Requirement>,
        wanted: &mut VecDeque<(Option<ExtraName>, MarkerTree)>,
    ) {
        if self.name.as_ref() == Some(&requirement.name) {
            wanted.extend(requirement.extras.iter().map(|extra| (Some(extra.clone()), marker.clone())));
        } else {
            roots.push(Requirement { marker, ..requirement.clone() });
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn read(text: &str) -> Pyproject {
        parse(text, Path::new("proj/pyproject.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("proj/pyproject.toml")).map(|_| ()).unwrap_err().to_string()
    }

    fn select(extras: &[&str], groups: &[&str]) -> Selection {
        Selection {
            extras: extras.iter().map(|e| parse_extra(e).unwrap()).collect(),
            all_extras: false,
            groups: groups.iter().map(|g| g.parse().unwrap()).collect(),
        }
    }

    fn roots(pyproject: &Pyproject, selection: &Selection) -> Vec<String> {
        pyproject.requirements(selection).iter().map(ToString::to_string).collect()
    }

    const PROJECT: &str = r#"
[project]
name = "My.Proj"
version = "1.0"
dependencies = ["idna>=2", "colorama; sys_platform == 'win32'"]

[project.optional-dependencies]
Socks = ["PySocks>=1.5.6"]
win = ["pywin32; sys_platform == 'win32'"]
all = ["my_proj[socks]", "my-proj[win]; python_version >= '3.10'"]

[dependency-groups]
Test_Tools = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
"#;

    #[test]
    fn dependencies_alone_by_default() {
        assert_eq!(roots(&read(PROJECT), &Selection::default()), ["idna>=2", "colorama ; sys_platform == 'win32'"]);
    }

    #[test]
    fn extras_and_groups_are_matched_normalised_and_includes_expanded() {
        let pyproject = read(PROJECT);
        assert_eq!(
            roots(&pyproject, &select(&["SOCKS"], &["test.tools"])),
            ["pytest>=8", "ruff", "idna>=2", "colorama ; sys_platform == 'win32'", "pysocks>=1.5.6"]
        );
        assert!(
            pyproject.has_extra(&parse_extra("socks").unwrap()) && !pyproject.has_extra(&parse_extra("dev").unwrap())
        );
        assert!(pyproject.has_group(&"test-tools".parse().unwrap()) && !pyproject.has_group(&"socks".parse().unwrap()));
    }

    #[test]
    fn self_references_add_the_extras_they_name_under_their_marker() {
        let all = roots(&read(PROJECT), &select(&["all"], &[]));
        assert_eq!(
            all[2..],
            ["pysocks>=1.5.6", "pywin32 ; python_full_version >= '3.10' and sys_platform == 'win32'"],
            "{all:?}"
        );
        let every = Selection { all_extras: true, ..Selection::default() };
        assert_eq!(roots(&read(PROJECT), &every).len(), 2 + 2, "each extra's requirements once, where it is wanted");
    }

    #[test]
    fn extras_that_include_each_other_end() {
        let pyproject =
            read("[project]\nname = 'p'\n[project.optional-dependencies]\na = ['p[b]', 'x']\nb = ['p[a]', 'y']\n");
        assert_eq!(roots(&pyproject, &select(&["a"], &[])), ["x", "y"]);
    }

    #[test]
    fn a_built_project_s_metadata_replaces_the_file_s() {
        let mut pyproject = read("[project]\nname = 'p'\ndynamic = ['dependencies']\n");
        assert!(pyproject.needs_build(&Selection::default()));
        let metadata = "Metadata-Version: 2.1\nName: p\nVersion: 1\nRequires-Dist: a\nRequires-Dist: b; extra == 'x'\nRequires-Dist: p[x]; extra == 'all'\nProvides-Extra: x\nProvides-Extra: all\n";
        pyproject.set_built(Metadata::parse(metadata.as_bytes(), "p").unwrap());
        assert!(!pyproject.needs_build(&select(&["x"], &[])));
        assert_eq!(roots(&pyproject, &select(&["all"], &[])), ["a", "b"]);
    }

    #[test]
    fn what_needs_a_build() {
        let dynamic_extras = read("[project]\nname = 'p'\ndynamic = ['optional-dependencies']\n");
        assert!(!dynamic_extras.needs_build(&Selection::default()));
        assert!(dynamic_extras.needs_build(&select(&["x"], &[])));
        assert!(read("[build-system]\nrequires = ['b']\n").needs_build(&Selection::default()));
        let groups_alone = read("[dependency-groups]\ndev = ['pytest']\n");
        assert!(!groups_alone.needs_build(&select(&[], &["dev"])));
        assert_eq!(roots(&groups_alone, &select(&[], &["dev"])), ["pytest"]);
    }

    #[test]
    fn mistakes_are_one_line_with_the_line_they_are_on() {
        let cases = [
            (
                "[project]\nname = 'p'\ndependencies = [\n  'ok',\n  'bad >>= 1',\n]\n",
                "proj/pyproject.toml:5: invalid requirement `bad >>= 1`",
            ),
            ("[project]\nname = 'p'\ndependencies = 'idna'\n", "proj/pyproject.toml:3: invalid TOML: "),
            ("[project\nname = 'p'\n", "proj/pyproject.toml:1: invalid TOML: "),
            ("[tool.x]\na = 1\n\n[project]\nversion = '1'\n", "proj/pyproject.toml:4: [project] has no `name`"),
            (
                "[project]\nname = 'p'\ndependencies = ['x @ https://host.example/x.whl']\n",
                "proj/pyproject.toml:3: `x @ https://host.example/x.whl`: direct URL",
            ),
            (
                "[dependency-groups]\na = [{include-group = 'b'}]\nb = [{include-group = 'c'}]\nc = ['x', {include-group = 'a'}]\n",
                "proj/pyproject.toml:4: dependency groups include each other: a -> b -> c -> a",
            ),
            (
                "[dependency-groups]\na = [\n  {include-group = 'nope'},\n]\n",
                "proj/pyproject.toml:3: dependency group `a` includes `nope`, which is not declared",
            ),
            ("[dependency-groups]\nDev = ['a']\ndev = ['b']\n", "dependency group `dev` is declared twice"),
            (
                "[dependency-groups]\ndev = [{include = 'x'}]\n",
                "proj/pyproject.toml:2: a table in a dependency group must be",
            ),
            ("[dependency-groups]\ndev = [1]\n", "proj/pyproject.toml:2: a dependency group holds requirement strings"),
            (
                "[project]\nname = 'p'\n[project.optional-dependencies]\n'bad name' = ['x']\n",
                "proj/pyproject.toml:4: `bad name` is not a valid extra name",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.contains(expected), "{text:?}:\n{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(text in "[\\[\\]a-z=\"'{}, .\\n-]{0,80}") {
            let _ = parse(&text, Path::new("pyproject.toml")).map(|p| p.requirements(&Selection { all_extras: true, ..Selection::default() }));
        }

        /// Groups that include others at random, cycles and unknown names among them.
        #[test]
        fn includes_never_panic(includes in proptest::collection::vec(proptest::collection::vec(0usize..8, 0..4), 1..7)) {
            let mut text = String::from("[dependency-groups]\n");
            for (group, included) in includes.iter().enumerate() {
                let entries: Vec<String> = included.iter().map(|other| format!("{{include-group = 'g{other}'}}")).collect();
                text.push_str(&format!("g{group} = ['r{group}', {}]\n", entries.join(", ")));
            }
            if let Ok(pyproject) = parse(&text, Path::new("pyproject.toml")) {
                let every = (0..includes.len()).map(|group| format!("g{group}").parse().unwrap()).collect();
                let roots = pyproject.requirements(&Selection { groups: every, ..Selection::default() });
                let names: BTreeSet<String> = roots.iter().map(|root| root.name.to_string()).collect();
                prop_assert_eq!(names.len(), includes.len(), "every group's requirement");
            }
        }

        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,60}") {
            let _ = parse(&text, Path::new("pyproject.toml"));
        }
    }
}
