//! Resolver behaviour over an in-memory index.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pep508_rs::{PackageName, Requirement};

use super::candidates::tests::{file, project};
use super::*;
use crate::dist::DistFile;

/// Projects with files and per-version metadata; records prefetch hints. Shared with the
/// audit tests.
#[derive(Default)]
pub(crate) struct FakeIndex {
    files: BTreeMap<PackageName, Vec<DistFile>>,
    metadata: HashMap<(PackageName, Version), Arc<Metadata>>,
    prefetched: Mutex<Vec<String>>,
    /// `name==version` of every metadata the resolver read, in order.
    read: Mutex<Vec<String>>,
    /// `name==version` of every metadata prefetch hint.
    prefetched_metadata: Mutex<Vec<String>>,
}

fn name(text: &str) -> PackageName {
    PackageName::from_str(text).expect("name")
}

fn version(text: &str) -> Version {
    Version::from_str(text).expect("version")
}

impl FakeIndex {
    /// A release with one `py3-none-any` wheel and the given `Requires-Dist`.
    pub(crate) fn release(&mut self, package: &str, v: &str, requires: &[&str]) -> &mut Self {
        self.release_file(package, v, requires, file(&format!("{package}-{v}-py3-none-any.whl"), None, false))
    }

    pub(crate) fn release_file(&mut self, package: &str, v: &str, requires: &[&str], dist: DistFile) -> &mut Self {
        let metadata = Metadata {
            name: name(package),
            version: version(v),
            requires_dist: requires.iter().map(|r| Requirement::from_str(r).expect("requirement")).collect(),
            requires_python: None,
            provides_extra: Vec::new(),
            metadata_version: "2.1".into(),
            dynamic: Vec::new(),
        };
        self.files.entry(name(package)).or_default().push(dist);
        self.metadata.insert((name(package), version(v)), Arc::new(metadata));
        self
    }

    fn set_requires_python(&mut self, package: &str, v: &str, specifiers: &str) -> &mut Self {
        let key = (name(package), version(v));
        let mut metadata = (*self.metadata[&key]).clone();
        metadata.requires_python = Some(VersionSpecifiers::from_str(specifiers).expect("specifiers"));
        self.metadata.insert(key, Arc::new(metadata));
        self
    }
}

impl Source for FakeIndex {
    fn project(&self, package: &PackageName) -> Result<Arc<Project>, IndexError> {
        let files = self
            .files
            .get(package)
            .ok_or_else(|| IndexError::NotFound { name: package.clone(), indexes: "the test index".into() })?;
        Ok(Arc::new(project(package.as_ref(), files.clone())))
    }

    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError> {
        self.read.lock().expect("lock").push(format!("{}=={version}", project.name));
        self.metadata.get(&(project.name.clone(), version.clone())).cloned().ok_or_else(|| MetadataError::Invalid {
            filename: format!("{} {version}", project.name),
            message: "no such release".into(),
        })
    }

    fn prefetch_project(&self, package: &PackageName) {
        self.prefetched.lock().expect("lock").push(package.to_string());
    }

    fn prefetch_metadata(&self, project: &Arc<Project>, version: &Version) {
        self.prefetched_metadata.lock().expect("lock").push(format!("{}=={version}", project.name));
    }
}

fn target(python: &str, platform: &str) -> Target {
    Target::from_options(Some(python), Some(platform)).expect("target")
}

fn roots(requirements: &[&str]) -> Vec<RootRequirement> {
    requirements
        .iter()
        .map(|r| RootRequirement { requirement: Requirement::from_str(r).expect("requirement"), origin: String::new() })
        .collect()
}

fn run(index: &FakeIndex, requirements: &[&str], constraints: &[&str], options: &ResolveOptions) -> Resolution {
    try_run(index, requirements, constraints, &target("3.11", "linux"), options).expect("resolves")
}

fn try_run(
    index: &FakeIndex,
    requirements: &[&str],
    constraints: &[&str],
    target: &Target,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    let constraints: Vec<Requirement> =
        constraints.iter().map(|c| Requirement::from_str(c).expect("constraint")).collect();
    resolve(index, &roots(requirements), &constraints, target, options)
}

/// `name==version` for every package, sorted.
fn pins(resolution: &Resolution) -> Vec<String> {
    resolution.packages.iter().map(|p| format!("{}=={}", p.name, p.version)).collect()
}

fn resolved<'r>(resolution: &'r Resolution, package: &str) -> &'r ResolvedPackage {
    &resolution.packages[&name(package)]
}

#[test]
fn picks_newest_and_follows_dependencies() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["lib>=1"]).release("app", "2.0", &["lib>=2"]);
    index.release("lib", "1.0", &[]).release("lib", "2.0", &[]).release("lib", "2.1", &[]);
    let resolution = run(&index, &["app"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==2.0", "lib==2.1"]);
    assert_eq!(resolved(&resolution, "lib").required_by, BTreeSet::from(["app".to_string()]));
    assert!(resolved(&resolution, "app").required_by.is_empty(), "command-line requirements have no origin");
    assert_eq!(resolved(&resolution, "lib").metadata.version, version("2.1"));
    assert!(index.prefetched.lock().expect("lock").contains(&"lib".to_string()), "dependencies are prefetched");
}

/// A new major release of a package found early (`dateutil` 4, through `pandas`) that every
/// version of a package found later excludes (`botocore`, through `aws`): after a few
/// rejections the resolution starts again with `dateutil` decided last, instead of reading
/// every `botocore` before giving up on `dateutil` 4.
#[test]
fn a_decided_package_that_keeps_rejecting_others_is_decided_last() {
    let mut index = FakeIndex::default();
    index.release("pandas", "1.0", &["dateutil"]).release("aws", "1.0", &["botocore"]);
    index.release("dateutil", "2.9", &[]).release("dateutil", "4.0", &[]);
    for patch in 0..30 {
        index.release("botocore", &format!("1.{patch}"), &["dateutil<3"]);
    }
    let resolution = run(&index, &["pandas", "aws"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["aws==1.0", "botocore==1.29", "dateutil==2.9", "pandas==1.0"]);
    let read = index.read.lock().expect("lock");
    let botocore = read.iter().filter(|pin| pin.starts_with("botocore==")).count();
    assert!(botocore <= 6, "botocore read {botocore} times: {read:?}");
}

/// While PubGrub walks a package's versions down, one rejected after the other, the next ones'
/// metadata is asked for ahead, so that the walk does not wait on one request at a time.
#[test]
fn the_next_versions_of_a_package_walked_down_are_prefetched() {
    let mut index = FakeIndex::default();
    for v in 1..=30 {
        index.release("app", &format!("{v}.0"), &[&format!("lib=={v}.0")]);
    }
    index.release("lib", "1.0", &[]);
    let resolution = run(&index, &["app"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==1.0", "lib==1.0"]);
    let hints = index.prefetched_metadata.lock().expect("lock").clone();
    assert!(hints.contains(&"app==28.0".to_string()) && hints.contains(&"app==2.0".to_string()), "{hints:?}");

    let mut plain = FakeIndex::default();
    plain.release("app", "1.0", &["lib"]).release("app", "2.0", &["lib"]).release("lib", "1.0", &[]);
    run(&plain, &["app"], &[], &ResolveOptions::default());
    let hints = plain.prefetched_metadata.lock().expect("lock").clone();
    assert_eq!(hints, ["app==2.0", "lib==1.0"], "nothing walked down: only each project's likely pick");
}

/// The metadata prefetched for a package is that of its likely pick in the range required of
/// it: a pinned dependency's newest release would never be read.
#[test]
fn the_metadata_prefetched_is_of_the_version_the_range_allows() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["lib==1.0"]).release("lib", "1.0", &[]).release("lib", "2.0", &[]);
    run(&index, &["app"], &[], &ResolveOptions::default());
    let hints = index.prefetched_metadata.lock().expect("lock").clone();
    assert_eq!(hints, ["app==1.0", "lib==1.0"]);
}

/// Packages are decided in the order they were first required, as uv decides them: of two
/// root requirements that conflict, the first stays newest even though the second has fewer
/// versions (PubGrub's own rule, fewest versions first, would have walked back `app`).
#[test]
fn packages_are_decided_in_the_order_they_are_required() {
    let mut index = FakeIndex::default();
    for v in 1..=8 {
        index.release("app", &format!("{v}.0"), if v >= 5 { &["lib<3"] } else { &[] });
    }
    for v in 1..=6 {
        index.release("lib", &format!("{v}.0"), &[]);
    }
    let resolution = run(&index, &["app", "lib"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==8.0", "lib==2.0"]);
}

#[test]
fn extras_add_their_dependencies_and_are_recorded() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["web[tls]"]);
    index.release("web", "1.0", &["core", "certs ; extra == 'tls'", "docs ; extra == 'docs'"]);
    index.release("web", "2.0", &["core", "certs ; extra == 'tls'"]);
    index.release("core", "1.0", &[]).release("certs", "1.0", &[]).release("docs", "1.0", &[]);
    let resolution = run(&index, &["app"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==1.0", "certs==1.0", "core==1.0", "web==2.0"]);
    let web = resolved(&resolution, "web");
    assert_eq!(web.extras.iter().map(ToString::to_string).collect::<Vec<_>>(), ["tls"]);
    assert_eq!(resolved(&resolution, "certs").required_by, BTreeSet::from(["web".to_string()]));

    let plain = run(&index, &["web"], &[], &ResolveOptions::default());
    assert_eq!(pins(&plain), ["core==1.0", "web==2.0"], "no extra, no certs");
}

#[test]
fn extra_and_base_agree_on_one_version() {
    let mut index = FakeIndex::default();
    index.release("web", "1.0", &["certs ; extra == 'tls'"]).release("web", "2.0", &["certs ; extra == 'tls'"]);
    index.release("certs", "1.0", &[]);
    let resolution = run(&index, &["web<2", "web[tls]"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["certs==1.0", "web==1.0"]);
}

#[test]
fn markers_are_evaluated_for_the_target() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["winhelper ; sys_platform == 'win32'", "newlib ; python_version >= '3.13'"]);
    index.release("winhelper", "1.0", &[]).release("newlib", "1.0", &[]);
    let options = ResolveOptions::default();
    let linux = try_run(&index, &["app"], &[], &target("3.11", "linux"), &options).expect("resolves");
    assert_eq!(pins(&linux), ["app==1.0"]);
    let windows = try_run(&index, &["app"], &[], &target("3.11", "windows"), &options).expect("resolves");
    assert_eq!(pins(&windows), ["app==1.0", "winhelper==1.0"]);
    let new_python = try_run(&index, &["app"], &[], &target("3.13", "linux"), &options).expect("resolves");
    assert_eq!(pins(&new_python), ["app==1.0", "newlib==1.0"]);
    let root_marker = try_run(&index, &["app", "winhelper ; os_name == 'nt'"], &[], &target("3.11", "linux"), &options);
    assert_eq!(pins(&root_marker.expect("resolves")), ["app==1.0"]);
}

#[test]
fn requires_python_filters_newer_versions() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.release_file("lib", "2.0", &[], file("lib-2.0-py3-none-any.whl", Some(">=3.12"), false));
    index.release("lib", "3.0", &[]).set_requires_python("lib", "3.0", ">=3.12");
    let resolution = run(&index, &["lib"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["lib==1.0"], "index and metadata requires-python both count");
    let error = try_run(&index, &["lib>=3"], &[], &target("3.11", "linux"), &ResolveOptions::default())
        .expect_err("3.0 needs a newer Python");
    assert!(error.to_string().contains("requires Python >=3.12"), "{error}");
}

#[test]
fn yanked_versions_need_an_exact_pin() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.release_file("lib", "2.0", &[], file("lib-2.0-py3-none-any.whl", None, true));
    assert_eq!(pins(&run(&index, &["lib"], &[], &ResolveOptions::default())), ["lib==1.0"]);
    assert_eq!(pins(&run(&index, &["lib>=1.0,<3"], &[], &ResolveOptions::default())), ["lib==1.0"]);
    assert_eq!(pins(&run(&index, &["lib==2.0"], &[], &ResolveOptions::default())), ["lib==2.0"]);
}

#[test]
fn prereleases_follow_pips_rule() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]).release("lib", "2.0b1", &[]);
    index.release("early", "0.1a1", &[]).release("early", "0.1a2", &[]);
    let default = ResolveOptions::default();
    assert_eq!(pins(&run(&index, &["lib"], &[], &default)), ["lib==1.0"]);
    assert_eq!(pins(&run(&index, &["lib>=2.0b1"], &[], &default)), ["lib==2.0b1"], "a specifier names one");
    assert_eq!(pins(&run(&index, &["lib"], &[], &ResolveOptions { prereleases: true })), ["lib==2.0b1"]);
    assert_eq!(pins(&run(&index, &["early"], &[], &default)), ["early==0.1a2"], "nothing but pre-releases");
    index.release("app", "1.0", &["lib>=1.0a1"]);
    assert_eq!(
        pins(&run(&index, &["app"], &[], &default)),
        ["app==1.0", "lib==1.0"],
        "a dependency's specifier naming a pre-release does not ask for them"
    );
}

#[test]
fn conflicts_are_explained_with_both_packages() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["lib<2"]);
    index.release("lib", "1.0", &[]).release("lib", "2.0", &[]);
    let error = try_run(&index, &["app", "lib>=2"], &[], &target("3.11", "linux"), &ResolveOptions::default())
        .expect_err("conflict");
    let ResolveError::NoSolution(message) = &error else { panic!("expected NoSolution, got {error}") };
    assert!(message.contains("app") && message.contains("lib"), "{message}");
    assert!(message.contains("<2") && message.contains(">=2"), "{message}");
    assert!(!message.contains(&format!("{} 0", provider::ROOT_NAME)), "{message}");
}

#[test]
fn backtracks_to_an_older_version() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["lib<2"]).release("app", "2.0", &["lib>=2"]);
    index.release("lib", "1.0", &[]).release("lib", "2.0", &[]);
    index.release("other", "1.0", &["lib<2"]);
    let resolution = run(&index, &["app", "other"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==1.0", "lib==1.0", "other==1.0"]);
    assert_eq!(resolved(&resolution, "lib").required_by, BTreeSet::from(["app".to_string(), "other".to_string()]));
}

#[test]
fn constraints_limit_without_adding() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["lib"]);
    index.release("lib", "1.0", &[]).release("lib", "2.0", &[]).release("unused", "1.0", &[]);
    let resolution = run(&index, &["app"], &["lib<2", "unused==1.0"], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==1.0", "lib==1.0"]);
    let windows_only = run(&index, &["app"], &["lib<2 ; sys_platform == 'win32'"], &ResolveOptions::default());
    assert_eq!(pins(&windows_only), ["app==1.0", "lib==2.0"], "a constraint for another platform does not apply");
}

#[test]
fn origins_become_required_by() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &[]);
    let requirements = [RootRequirement {
        requirement: Requirement::from_str("app").expect("requirement"),
        origin: "-r requirements.in".into(),
    }];
    let resolution =
        resolve(&index, &requirements, &[], &target("3.11", "linux"), &ResolveOptions::default()).expect("resolves");
    assert_eq!(resolved(&resolution, "app").required_by, BTreeSet::from(["-r requirements.in".to_string()]));
}

#[test]
fn wheels_for_other_platforms_only_are_not_candidates() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.release_file("lib", "2.0", &[], file("lib-2.0-cp311-cp311-win_amd64.whl", None, false));
    index.release_file("lib", "3.0", &[], file("lib-3.0-cp311-cp311-musllinux_1_2_x86_64.whl", None, false));
    index.release_file("lib", "3.0", &[], file("lib-3.0.tar.gz", None, false));
    assert_eq!(pins(&run(&index, &["lib<3"], &[], &ResolveOptions::default())), ["lib==1.0"]);
    assert_eq!(pins(&run(&index, &["lib"], &[], &ResolveOptions::default())), ["lib==3.0"], "the sdist can build");
}

#[test]
fn unreadable_metadata_fails_the_run_and_missing_projects_fail() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.files.entry(name("lib")).or_default().push(file("lib-2.0-py3-none-any.whl", None, false));
    let error = try_run(&index, &["lib"], &[], &target("3.11", "linux"), &ResolveOptions::default())
        .expect_err("lib 2.0 is not quietly skipped for 1.0");
    assert!(matches!(&error, ResolveError::Unusable { version: v, .. } if *v == version("2.0")), "{error}");
    assert!(error.to_string().starts_with("lib 2.0: cannot use its metadata: "), "{error}");

    let error = try_run(&index, &["nothere"], &[], &target("3.11", "linux"), &ResolveOptions::default())
        .expect_err("not on the index");
    assert!(matches!(error, ResolveError::Index(IndexError::NotFound { .. })), "{error}");
}

fn universal(lowest: &str) -> Target {
    Target::universal(Some(lowest)).expect("target")
}

/// `name==version ; marker` for every pin, in resolution order.
fn marked(resolution: &Resolution) -> Vec<String> {
    resolution
        .packages
        .iter()
        .map(|p| match p.marker.try_to_string() {
            Some(marker) => format!("{}=={} ; {marker}", p.name, p.version),
            None => format!("{}=={}", p.name, p.version),
        })
        .collect()
}

#[test]
fn universal_keeps_every_dependency_some_environment_needs() {
    let mut index = FakeIndex::default();
    index.release(
        "app",
        "1.0",
        &[
            "winhelper ; platform_system == 'Windows'",
            "newlib ; python_version >= '3.13'",
            "py2lib ; python_version < '3'",
            "web[tls] ; os_name == 'nt'",
        ],
    );
    index.release("winhelper", "1.0", &[]).release("newlib", "1.0", &[]).release("py2lib", "1.0", &[]);
    index.release("web", "1.0", &["certs ; extra == 'tls'", "docs ; extra == 'docs'"]);
    index.release("certs", "1.0", &[]).release("docs", "1.0", &[]);
    let resolution = try_run(&index, &["app"], &[], &universal("3.11"), &ResolveOptions::default()).expect("resolves");
    assert_eq!(
        marked(&resolution),
        [
            "app==1.0",
            "certs==1.0 ; sys_platform == 'win32'",
            "newlib==1.0 ; python_full_version >= '3.13'",
            "web==1.0 ; sys_platform == 'win32'",
            "winhelper==1.0 ; sys_platform == 'win32'",
        ],
        "Python 2 only and unrequested extras are left out; the extra's dependency inherits its marker"
    );
    assert_eq!(resolved(&resolution, "certs").required_by, BTreeSet::from(["web".to_string()]));
}

#[test]
fn universal_marker_is_the_disjunction_of_the_paths() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["shared ; sys_platform == 'win32'", "mid ; python_version >= '3.13'"]);
    index.release("mid", "1.0", &["shared", "deep ; sys_platform == 'win32'"]);
    index.release("shared", "1.0", &["deep ; python_version >= '3.12'"]);
    index.release("deep", "1.0", &[]);
    let resolution = try_run(&index, &["app"], &[], &universal("3.11"), &ResolveOptions::default()).expect("resolves");
    assert_eq!(
        marked(&resolution),
        [
            "app==1.0",
            // (3.13+ and win32) or (win32 and 3.12+) or (3.13+ and 3.12+): `A or (A and B)` simplified.
            "deep==1.0 ; (python_full_version == '3.12.*' and sys_platform == 'win32') or python_full_version >= '3.13'",
            "mid==1.0 ; python_full_version >= '3.13'",
            "shared==1.0 ; sys_platform == 'win32' or python_full_version >= '3.13'",
        ]
    );
    assert_eq!(resolved(&resolution, "shared").required_by, BTreeSet::from(["app".to_string(), "mid".to_string()]));
}

#[test]
fn universal_candidates_must_serve_every_python_of_their_fork() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.release_file("lib", "2.0", &[], file("lib-2.0-py3-none-any.whl", Some(">=3.12"), false));
    index.release("lib", "3.0", &[]).set_requires_python("lib", "3.0", ">=3.12");
    let options = ResolveOptions::default();
    let from_311 = try_run(&index, &["lib"], &[], &universal("3.11"), &options).expect("resolves");
    assert_eq!(
        marked(&from_311),
        ["lib==1.0 ; python_full_version < '3.12'", "lib==3.0 ; python_full_version >= '3.12'"],
        "2.0 and 3.0 would break Python 3.11, not 3.12"
    );
    let from_312 = try_run(&index, &["lib"], &[], &universal("3.12"), &options).expect("resolves");
    assert_eq!(pins(&from_312), ["lib==3.0"]);
}

#[test]
fn universal_forks_where_only_the_metadata_needs_a_newer_python() {
    let mut index = FakeIndex::default();
    index.release("lib", "1.0", &[]);
    index.release("lib", "2.0", &[]).set_requires_python("lib", "2.0", ">=3.12");
    let resolution = try_run(&index, &["lib"], &[], &universal("3.11"), &ResolveOptions::default()).expect("resolves");
    assert_eq!(
        marked(&resolution),
        ["lib==1.0 ; python_full_version < '3.12'", "lib==2.0 ; python_full_version >= '3.12'"]
    );
}

#[test]
fn universal_gives_each_python_the_newest_version_that_supports_it() {
    let mut index = FakeIndex::default();
    // requests' shape: a dependency every version needs, and no marker anywhere.
    index.release("app", "1.0", &["lib", "common"]);
    index.release_file("lib", "1.0", &["common"], file("lib-1.0-py3-none-any.whl", Some(">=3.8"), false));
    index.release_file("lib", "2.0", &["common"], file("lib-2.0-py3-none-any.whl", Some(">=3.9"), false));
    index.release_file("lib", "3.0", &["common"], file("lib-3.0-py3-none-any.whl", Some(">=3.10"), false));
    index.release("common", "1.0", &[]);
    let options = ResolveOptions::default();
    let resolution = try_run(&index, &["app"], &[], &universal("3.8"), &options).expect("resolves");
    assert_eq!(
        marked(&resolution),
        [
            "app==1.0",
            "common==1.0",
            "lib==1.0 ; python_full_version < '3.9'",
            "lib==2.0 ; python_full_version == '3.9.*'",
            "lib==3.0 ; python_full_version >= '3.10'",
        ],
        "what every fork picks alike is one line without a marker"
    );
    assert_eq!(resolved(&resolution, "common").required_by, BTreeSet::from(["app".to_string(), "lib".to_string()]));
    let capped = try_run(&index, &["app", "lib<3"], &[], &universal("3.8"), &options).expect("resolves");
    assert_eq!(
        marked(&capped),
        [
            "app==1.0",
            "common==1.0",
            "lib==1.0 ; python_full_version < '3.9'",
            "lib==2.0 ; python_full_version >= '3.9'"
        ],
        "no fork for a version the requirements exclude"
    );
}

#[test]
fn universal_forks_where_environments_need_different_versions() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["b<2 ; python_version < '3.10'", "b>=2 ; python_version >= '3.10'", "c"]);
    index.release("b", "1.0", &["olddep"]).release("b", "2.0", &["newdep"]).set_requires_python("b", "2.0", ">=3.10");
    index.release("olddep", "1.0", &[]).release("newdep", "1.0", &[]);
    index.release("c", "1.0", &[]).release("c", "2.0", &[]);
    let resolution = try_run(&index, &["app"], &[], &universal("3.8"), &ResolveOptions::default()).expect("resolves");
    assert_eq!(
        marked(&resolution),
        [
            "app==1.0",
            "b==1.0 ; python_full_version < '3.10'",
            "b==2.0 ; python_full_version >= '3.10'",
            "c==2.0",
            "newdep==1.0 ; python_full_version >= '3.10'",
            "olddep==1.0 ; python_full_version < '3.10'",
        ],
        "one line per version with disjoint markers; what both forks pick is merged"
    );
}

#[test]
fn universal_irreconcilable_requirements_name_package_and_environments() {
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["b<2 ; python_version < '3.10'", "b>=2"]);
    index.release("b", "1.0", &[]).release("b", "2.0", &[]);
    let error = try_run(&index, &["app"], &[], &universal("3.8"), &ResolveOptions::default())
        .expect_err("Python < 3.10 needs b<2 and b>=2");
    let message = error.to_string();
    assert!(message.contains("python_full_version < '3.10'"), "{message}");
    assert!(message.contains("`b<2 ; python_full_version < '3.10'` and `b>=2`"), "{message}");
    println!("{message}");

    let from_310 = try_run(&index, &["app"], &[], &universal("3.10"), &ResolveOptions::default());
    assert_eq!(pins(&from_310.expect("the conflict is below the range")), ["app==1.0", "b==2.0"]);
}

#[test]
fn a_package_without_a_wheel_is_decided_after_those_with_one_even_when_pinned() {
    // Its metadata may need a build, which the look-ahead has started: the resolver decides
    // the packages with wheels meanwhile instead of waiting for it.
    let mut index = FakeIndex::default();
    index.release("app", "1.0", &["built==1.0", "plain>=1", "other"]);
    index.release_file("built", "1.0", &["leaf"], file("built-1.0.tar.gz", None, false));
    index.release("plain", "1.0", &["leaf"]).release("other", "1.0", &[]).release("leaf", "1.0", &[]);
    let resolution = run(&index, &["app"], &[], &ResolveOptions::default());
    assert_eq!(pins(&resolution), ["app==1.0", "built==1.0", "leaf==1.0", "other==1.0", "plain==1.0"]);
    let read = index.read.lock().expect("lock").clone();
    assert_eq!(read.last().map(String::as_str), Some("built==1.0"), "{read:?}");
}
