//! Auditing a lockfile of any format: what an installer checking hashes would do with it,
//! compared with what the index publishes, for one target or (universal) for every
//! environment, reading the markers the lock records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{MarkerTree, PackageName};

use crate::check::findings::{Code, Finding, Severity, best_wheel, check_lock, check_lock_with};
use crate::dist::{DistFile, DistFilename, Formats, same_filename};
use crate::index::{IndexError, Project};
use crate::lock::{Lock, LockedPackage, PIP_ALGORITHMS, files_of_version, sources_of_version};
use crate::lockfile::{Artifact, LockFormat, Lockfile, Package, Selector};
use crate::resolve::Source;
use crate::resolve::markers::{display, normalize, python_at_least};
use crate::target::Target;

/// A package of the lock pinned to one version.
struct Pin<'a> {
    package: &'a Package,
    version: &'a Version,
}

/// Which of a lock's groups and extras to audit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Empty: every package of the lock. Otherwise the project's own dependencies and these.
    pub selectors: BTreeSet<Selector>,
}

impl Selection {
    fn includes(&self, package: &Package) -> bool {
        self.selectors.is_empty()
            || package.groups.is_empty()
            || package.groups.iter().any(|group| *group == Selector::Default || self.selectors.contains(group))
    }
}

/// The lock the file describes (its pinned packages with their published files), and every
/// finding about it. Index errors other than "not found" abort the audit.
pub fn audit(
    lockfile: &Lockfile,
    selection: &Selection,
    source: &dyn Source,
    target: &Target,
) -> Result<(Lock, Vec<Finding>), IndexError> {
    let mut findings = lockfile.findings.clone();
    let selected: Vec<&Package> = lockfile.packages.iter().filter(|p| selection.includes(p)).collect();
    if selected.is_empty() {
        let what = if lockfile.packages.is_empty() { "no packages" } else { "no packages in the groups selected" };
        findings.push(Finding::new(
            Code::EmptyLock,
            None,
            format!(
                "{}: the {} records {what}: nothing was checked",
                lockfile.path.display(),
                lockfile.format.describe()
            ),
        ));
    }
    if lockfile.format != LockFormat::Requirements {
        findings.extend(
            selected
                .iter()
                .filter(|p| p.version.is_none() && p.non_index_source.is_none())
                .map(|p| unpinned(p, lockfile, target)),
        );
    }
    let pins: Vec<Pin> = selected
        .iter()
        .filter(|p| p.non_index_source.is_none())
        .filter_map(|package| package.version.as_ref().map(|version| Pin { package, version }))
        .collect();

    // Ask for every page at once (the source fetches them on its I/O pool), then collect.
    for pin in &pins {
        source.prefetch_project(&pin.package.name);
    }
    let mut projects: BTreeMap<PackageName, Arc<Project>> = BTreeMap::new();
    for pin in &pins {
        if projects.contains_key(&pin.package.name) {
            continue;
        }
        match source.project(&pin.package.name) {
            Ok(project) => {
                projects.insert(pin.package.name.clone(), project);
            }
            Err(IndexError::NotFound { .. }) => findings.push(
                Finding::new(
                    Code::NotOnIndex,
                    Some(&pin.package.name),
                    format!("{} is not on the index", pin.package.name),
                )
                .at(&pin.package.location),
            ),
            Err(error) => return Err(error),
        }
    }

    let mut located: Vec<(&Pin, LockedPackage)> = Vec::new();
    for pin in &pins {
        let Some(project) = projects.get(&pin.package.name) else { continue };
        let files = files_of_version(project, pin.version);
        if files.is_empty() {
            findings.push(
                Finding::new(
                    Code::NotOnIndex,
                    Some(&pin.package.name),
                    format!("{} {} is not on the index", pin.package.name, pin.version),
                )
                .at(&pin.package.location),
            );
            continue;
        }
        source.prefetch_metadata(project, pin.version);
        let package = LockedPackage {
            name: pin.package.name.clone(),
            version: pin.version.clone(),
            marker: pin.package.marker.clone(),
            required_by: BTreeSet::new(),
            files,
            sources: sources_of_version(project, pin.version),
        };
        let formats = lockfile.format_control.allowed(&package.name);
        findings.extend(any_file_hash_checks(pin, &package, target, formats));
        findings.extend(
            pin.package.artifacts.iter().filter(|a| a.filename.is_some()).flat_map(|a| artifact_checks(a, &package)),
        );
        // For one target, what its marker keeps out needs no file there.
        let installed = installed_on(pin.package, target);
        if lockfile.format != LockFormat::Requirements && installed {
            findings.extend(recorded_file_checks(pin, &package, target, &lockfile.environments));
        }
        located.push((pin, package));
    }

    findings.extend(missing_dependencies(&located, &projects, &selected, lockfile, source, target));

    let mut packages = Vec::new();
    for (pin, package) in &located {
        // The published-hash evidence, located at the package's line; for one target, only of
        // what it installs.
        let installed = installed_on(pin.package, target);
        let single = Lock { packages: vec![package.clone()] };
        findings.extend(
            installed
                .then(|| check_lock_with(&single, target, &|name| lockfile.format_control.allowed(name)))
                .into_iter()
                .flatten()
                .filter(|f| f.package.is_some())
                .map(|f| f.at(&pin.package.location)),
        );
        packages.push(package.clone());
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.version.cmp(&b.version)));
    let lock = Lock { packages };
    findings.extend(check_lock(&lock, target).into_iter().filter(|f| f.package.is_none()));
    for finding in &mut findings {
        finding.message = lockfile.as_written(&finding.message);
        finding.location = finding.location.as_deref().map(|location| lockfile.as_written(location));
    }
    findings.sort();
    findings.dedup();
    Ok((lock, findings))
}

/// Whether `target` installs `package`: always for a universal audit, which judges every
/// environment by the package's marker; for one target, where its marker holds.
fn installed_on(package: &Package, target: &Target) -> bool {
    target.is_universal() || package.marker.evaluate(&target.marker_environment(), &[])
}

/// A tool's lock entry without one version: an error where an audited environment installs it
/// (unpinned and unhashed), else a note (Pipenv writes `*` for a package its markers exclude
/// from the environment it locked for).
fn unpinned(package: &Package, lockfile: &Lockfile, target: &Target) -> Finding {
    let installed_on = target.environments().into_iter().find(|env| {
        let environment = env.marker_environment();
        package.marker.evaluate(&environment, &[]) && lockfile_covers(&lockfile.environments, &environment)
    });
    let (severity, consequence) = match installed_on {
        Some(env) => (Severity::Error, format!("{} installs it: unpinned and unhashed", env.describe())),
        None => (Severity::Info, format!("its marker excludes {}", target.describe())),
    };
    let mut finding = Finding::new(
        Code::Unpinned,
        Some(&package.name),
        format!("{} is locked without a version; {consequence}", package.name),
    )
    .at(&package.location);
    finding.severity = severity;
    finding
}

/// Hashes recorded for any file of the version (requirements files, Pipfile.lock) that match
/// nothing published, and published files none of them covers. `formats`: what pip may
/// install of the package.
fn any_file_hash_checks(pin: &Pin, package: &LockedPackage, target: &Target, formats: Formats) -> Vec<Finding> {
    let name = Some(&package.name);
    let what = format!("{} {}", package.name, package.version);
    let mut findings = Vec::new();
    let recorded: Vec<&crate::lockfile::Hash> =
        pin.package.artifacts.iter().filter(|a| a.filename.is_none()).flat_map(|a| &a.hashes).collect();
    if recorded.is_empty() {
        return findings;
    }
    let published: BTreeSet<(&str, &str)> =
        package.files.iter().flat_map(|f| f.hashes.iter().map(|(alg, hex)| (alg.as_str(), hex.as_str()))).collect();
    for hash in &recorded {
        if !published.contains(&(hash.algorithm.as_str(), hash.hex.as_str())) {
            findings.push(
                Finding::new(
                    Code::HashMismatch,
                    name,
                    format!(
                        "{what}: {}:{} matches no published file of this version (stale or tampered)",
                        hash.algorithm, hash.hex
                    ),
                )
                .at(&hash.location),
            );
        }
    }
    let in_file: BTreeSet<(&str, &str)> = recorded.iter().map(|h| (h.algorithm.as_str(), h.hex.as_str())).collect();
    let lacking: Vec<&DistFile> = package
        .files
        .iter()
        .filter(|f| {
            !f.hashes.is_empty() && !f.hashes.iter().any(|(alg, hex)| in_file.contains(&(alg.as_str(), hex.as_str())))
        })
        .collect();
    if !lacking.is_empty() {
        let environments = target.environments();
        let broken = environments
            .iter()
            .find(|env| lacking.iter().any(|f| preferred_for_target(package, &f.filename, env, formats)));
        let names: Vec<&str> = lacking.iter().map(|f| f.filename.as_str()).collect();
        let platforms = platforms_of(package, &lacking);
        let mut finding = Finding::new(
            Code::IncompleteHashes,
            name,
            format!(
                "{what}: no hash for {} published file(s), so an installer fails where it picks them ({}): {}",
                lacking.len(),
                platforms,
                names.join(", ")
            ),
        )
        .at(&pin.package.location);
        if let Some(env) = broken {
            finding.severity = Severity::Error;
            finding.message.push_str(&format!(" — including the file {} installs", env.describe()));
        }
        findings.push(finding);
    }
    findings
}

/// A recorded file against the index's file of that name: present, its hashes and size the
/// published ones, and a hash an installer accepts.
fn artifact_checks(artifact: &Artifact, package: &LockedPackage) -> Vec<Finding> {
    let name = Some(&package.name);
    let filename = artifact.filename.as_deref().unwrap_or_default();
    let mut findings = Vec::new();
    if artifact.hashes.is_empty() {
        findings.push(
            Finding::new(Code::MissingHash, name, format!("{filename}: the lock records no hash for this file"))
                .at(&artifact.location),
        );
    } else if !artifact.hashes.iter().any(|h| PIP_ALGORITHMS.contains(&h.algorithm.as_str())) {
        let algorithms: BTreeSet<&str> = artifact.hashes.iter().map(|h| h.algorithm.as_str()).collect();
        findings.push(
            Finding::new(
                Code::WeakHashOnly,
                name,
                format!(
                    "{filename}: the lock records only {} for this file, which installers reject (they need sha256, sha384 or sha512)",
                    algorithms.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .at(&artifact.location),
        );
    }
    let published: Vec<&DistFile> = package.files.iter().filter(|f| same_filename(filename, &f.filename)).collect();
    if published.is_empty() {
        findings.push(
            Finding::new(
                Code::NotOnIndex,
                name,
                format!("{filename}: {} {} has no such file on the index any more", package.name, package.version),
            )
            .at(&artifact.location),
        );
        return findings;
    }
    let weak_only = !artifact.hashes.iter().any(|h| PIP_ALGORITHMS.contains(&h.algorithm.as_str()));
    for hash in &artifact.hashes {
        // An installer accepts the file on any hash the lock lists: one the index cannot vouch
        // for would let another file pass.
        if !published.iter().any(|file| file.hashes.contains_key(&hash.algorithm)) {
            if !weak_only {
                findings.push(
                    Finding::new(
                        Code::UnverifiableHash,
                        name,
                        format!(
                            "{filename}: the lock records {}:{}, and the index publishes no {} of this file to check it against (an installer accepts the file on it)",
                            hash.algorithm, hash.hex, hash.algorithm
                        ),
                    )
                    .at(&hash.location),
                );
            }
            continue;
        }
        let differs = published.iter().all(|file| file.hashes.get(&hash.algorithm).is_some_and(|hex| *hex != hash.hex));
        if differs {
            let theirs = published.iter().find_map(|f| f.hashes.get(&hash.algorithm)).map_or("", String::as_str);
            findings.push(
                Finding::new(
                    Code::HashMismatch,
                    name,
                    format!(
                        "{filename}: the lock records {}:{}, the index publishes {}:{theirs} (stale or tampered)",
                        hash.algorithm, hash.hex, hash.algorithm
                    ),
                )
                .at(&hash.location),
            );
        }
    }
    if let Some(size) = artifact.size {
        let sizes: BTreeSet<u64> = published.iter().filter_map(|f| f.size).collect();
        if !sizes.is_empty() && !sizes.contains(&size) {
            let theirs = sizes.iter().map(u64::to_string).collect::<Vec<_>>().join(" or ");
            findings.push(
                Finding::new(
                    Code::SizeMismatch,
                    name,
                    format!(
                        "{filename}: the lock records {size} bytes, the index publishes {theirs} (stale or tampered)"
                    ),
                )
                .at(&artifact.location),
            );
        }
    }
    findings
}

/// A lock that records files (not only hashes) must record one an installer can use in every
/// environment the package applies to.
fn recorded_file_checks(
    pin: &Pin,
    package: &LockedPackage,
    target: &Target,
    environments: &[MarkerTree],
) -> Vec<Finding> {
    let recorded: Vec<&DistFile> = pin
        .package
        .artifacts
        .iter()
        .filter_map(|a| a.filename.as_deref())
        .filter_map(|filename| package.files.iter().find(|f| same_filename(filename, &f.filename)))
        .collect();
    if pin.package.artifacts.iter().all(|a| a.filename.is_none()) {
        return if pin.package.artifacts.is_empty() {
            vec![
                Finding::new(
                    Code::MissingHash,
                    Some(&package.name),
                    format!("{} {}: the lock records no file and no hash", package.name, package.version),
                )
                .at(&pin.package.location),
            ]
        } else {
            Vec::new()
        };
    }
    let recorded_only = LockedPackage { files: recorded.into_iter().cloned().collect(), ..package.clone() };
    target
        .environments()
        .iter()
        // Where the package's marker (or the lock's environments) rule it out, nothing is installed.
        .filter(|env| {
            let environment = env.marker_environment();
            pin.package.marker.evaluate(&environment, &[]) && lockfile_covers(environments, &environment)
        })
        .find(|env| {
            !recorded_only.files.iter().any(|f| preferred_for_target(&recorded_only, &f.filename, env, Formats::ANY))
        })
        .map(|env| {
            Finding::new(
                Code::NoFileForTarget,
                Some(&package.name),
                format!(
                    "{} {}: the lock records no file that installs on {} (an installer fails there)",
                    package.name,
                    package.version,
                    env.describe()
                ),
            )
            .at(&pin.package.location)
        })
        .into_iter()
        .collect()
}

/// Whether pip on the target would pick `filename`: the best-ranked compatible wheel, or the
/// sdist when no wheel fits (or `formats` allows none).
fn preferred_for_target(package: &LockedPackage, filename: &str, target: &Target, formats: Formats) -> bool {
    match best_wheel(package, target).filter(|_| formats.wheel) {
        Some(best) => best.filename == filename,
        None => {
            formats.sdist
                && package.files.iter().any(|f| {
                    f.filename == filename
                        && DistFilename::parse(&f.filename, &package.name).is_some_and(|p| !p.is_wheel())
                })
        }
    }
}

/// Human summary of the platforms some files serve: `sdist`, `manylinux_2_17_x86_64`, ….
fn platforms_of(package: &LockedPackage, files: &[&crate::dist::DistFile]) -> String {
    let platforms: BTreeSet<String> = files
        .iter()
        .filter_map(|f| DistFilename::parse(&f.filename, &package.name))
        .flat_map(|p| match p {
            DistFilename::Wheel(w) => w.platform_tags,
            DistFilename::Sdist(_) => vec!["sdist".to_string()],
        })
        .collect();
    platforms.into_iter().collect::<Vec<_>>().join(", ")
}

/// Whether a lock made for `environments` (empty: every one) is meant for `environment`.
fn lockfile_covers(environments: &[MarkerTree], environment: &pep508_rs::MarkerEnvironment) -> bool {
    environments.is_empty() || environments.iter().any(|marker| marker.evaluate(environment, &[]))
}

/// Dependencies of pinned packages (from the index's metadata), active for the target, that
/// the lock does not list. For a universal target, a dependency is missing where its marker
/// (and its dependent's marker) holds but no package of the lock for it does.
fn missing_dependencies(
    located: &[(&Pin, LockedPackage)],
    projects: &BTreeMap<PackageName, Arc<Project>>,
    selected: &[&Package],
    lockfile: &Lockfile,
    source: &dyn Source,
    target: &Target,
) -> Vec<Finding> {
    let environments = &lockfile.environments;
    let environment = target.marker_environment();
    // A lock records the extras a package is installed with for the whole lock, not per group:
    // when groups are selected, a dependency only an extra brings counts as locked if the lock
    // has it at all.
    let narrowed = selected.len() < lockfile.packages.len();
    let in_lock: BTreeSet<&PackageName> = lockfile.packages.iter().map(|p| &p.name).collect();
    let mut covered = if environments.is_empty() { MarkerTree::TRUE } else { MarkerTree::FALSE };
    for marker in environments {
        covered.or(normalize(marker, &[]));
    }
    // For one target, a package counts only where it is installed: its marker true there.
    let listed: BTreeSet<&PackageName> =
        selected.iter().filter(|p| p.marker.evaluate(&environment, &[])).map(|p| &p.name).collect();
    let mut provided: BTreeMap<&PackageName, MarkerTree> = BTreeMap::new();
    for package in selected {
        provided.entry(&package.name).or_insert(MarkerTree::FALSE).or(normalize(&package.marker, &[]));
    }
    let lowest = target.lowest_python();
    let mut findings = Vec::new();
    for (pin, package) in located {
        let locked = pin.package;
        // An installer skips a package whose marker is false for the target, and its dependencies with it.
        if !target.is_universal() && !locked.marker.evaluate(&environment, &[]) {
            continue;
        }
        let Some(project) = projects.get(&package.name) else { continue };
        let metadata = match source.metadata(project, &package.version) {
            Ok(metadata) => metadata,
            Err(error) => {
                findings.push(
                    Finding::new(
                        Code::MissingDependency,
                        Some(&package.name),
                        format!("cannot check the dependencies of {} {}: {error}", package.name, package.version),
                    )
                    .at(&locked.location),
                );
                continue;
            }
        };
        for dependency in &metadata.requires_dist {
            let by_extra = normalize(&dependency.marker, &[]) != normalize(&dependency.marker, &locked.extras);
            if narrowed && by_extra && in_lock.contains(&dependency.name) {
                continue;
            }
            if target.is_universal() {
                let mut missing = python_at_least(&lowest);
                missing.and(covered.clone());
                missing.and(normalize(&locked.marker, &[]));
                missing.and(normalize(&dependency.marker, &locked.extras));
                missing.and(provided.get(&dependency.name).map_or(MarkerTree::TRUE, MarkerTree::negate));
                if missing.is_false() {
                    continue;
                }
                let environments = match display(&missing, &lowest) {
                    Some(marker) => format!("where `{marker}`"),
                    None => "in every environment".to_string(),
                };
                findings.push(
                    Finding::new(
                        Code::MissingDependency,
                        Some(&dependency.name),
                        format!(
                            "{} {} requires `{dependency}`, which the lock lacks {environments} (a hash-checked install fails there)",
                            package.name, package.version
                        ),
                    )
                    .at(&locked.location),
                );
            } else if dependency.evaluate_markers(&environment, &locked.extras) && !listed.contains(&dependency.name) {
                findings.push(
                    Finding::new(
                        Code::MissingDependency,
                        Some(&dependency.name),
                        format!(
                            "{} {} requires `{dependency}`, which is not in the lock (a hash-checked install fails on {})",
                            package.name,
                            package.version,
                            target.describe()
                        ),
                    )
                    .at(&locked.location),
                );
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::resolve::tests::FakeIndex;

    /// The missing-dependency messages of a universal audit of `text`.
    fn missing(index: &FakeIndex, text: &str) -> Vec<String> {
        missing_for(index, text, &Target::universal(Some("3.11")).expect("target"))
    }

    fn missing_for(index: &FakeIndex, text: &str, target: &Target) -> Vec<String> {
        let lockfile = crate::lockfile::requirements::parse(text, Path::new("requirements.txt")).expect("parses");
        let (_, findings) = audit(&lockfile, &Selection::default(), index, target).expect("audits");
        findings.into_iter().filter(|f| f.code == Code::MissingDependency).map(|f| f.message).collect()
    }

    #[test]
    fn a_line_whose_marker_is_false_for_the_target_provides_nothing() {
        let mut index = FakeIndex::default();
        index.release("app", "1.0", &["helper ; platform_system == 'Windows'"]).release("helper", "1.0", &[]);
        let windows = Target::from_options(Some("3.11"), Some("windows")).expect("target");
        let linux = Target::from_options(Some("3.11"), Some("linux")).expect("target");
        let wrong_marker = "app==1.0\nhelper==1.0 ; sys_platform == 'linux'\n";
        let messages = missing_for(&index, wrong_marker, &windows);
        assert!(messages.len() == 1 && messages[0].contains("requires `helper"), "{messages:?}");
        assert_eq!(missing_for(&index, wrong_marker, &linux), Vec::<String>::new());
        // A pin pip skips on the target brings no requirements of its own there.
        let skipped_app = "app==1.0 ; sys_platform == 'darwin'\n";
        assert_eq!(missing_for(&index, skipped_app, &windows), Vec::<String>::new());
    }

    #[test]
    fn universal_audit_names_the_environments_a_dependency_is_missing_in() {
        let mut index = FakeIndex::default();
        index.release("app", "1.0", &["helper ; platform_system == 'Windows'", "newlib ; python_version >= '3.13'"]);
        index.release("helper", "1.0", &[]).release("newlib", "1.0", &[]);

        let complete = "app==1.0\nhelper==1.0 ; sys_platform == 'win32'\nnewlib==1.0 ; python_version >= '3.13'\n";
        assert_eq!(missing(&index, complete), Vec::<String>::new());

        let gaps = "app==1.0\nnewlib==1.0 ; python_version >= '3.14'\n";
        let messages = missing(&index, gaps);
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("`helper ; platform_system == 'Windows'`"), "{}", messages[0]);
        assert!(messages[0].contains("where `sys_platform == 'win32'`"), "{}", messages[0]);
        assert!(messages[1].contains("where `python_full_version == '3.13.*'`"), "{}", messages[1]);
    }

    /// A lock that records files, as uv, Poetry, PDM and pylock.toml do: each file is checked
    /// against the index's file of that name, at the line the lock records it.
    #[test]
    fn recorded_files_are_checked_against_the_index_file_of_that_name() {
        use crate::lockfile::{Artifact, Hash, Location};
        let published = |filename: &str, sha256: &str, size: u64| {
            let mut dist = crate::resolve::candidates::tests::file(filename, None, false);
            dist.hashes.insert("sha256".into(), sha256.into());
            dist.size = Some(size);
            dist
        };
        let mut index = FakeIndex::default();
        index.release_file("app", "1.0", &[], published("app-1.0-py3-none-any.whl", &"b".repeat(64), 12));
        index.release_file(
            "winonly",
            "1.0",
            &[],
            published("winonly-1.0-cp311-cp311-win_amd64.whl", &"c".repeat(64), 5),
        );
        index.release_file("bare", "1.0", &[], published("bare-1.0-py3-none-any.whl", &"d".repeat(64), 5));
        let at = |line| Location { file: "uv.lock".into(), line };
        let hash = |algorithm: &str, hex: String, line| Hash { algorithm: algorithm.into(), hex, location: at(line) };
        let artifact = |filename: &str, hashes, size, line| Artifact {
            filename: Some(filename.into()),
            url: None,
            hashes,
            size,
            upload_time: None,
            location: at(line),
        };
        let package = |name: &str, artifacts, line| Package { artifacts, ..locked(name, "uv.lock", line) };
        let mut lockfile = Lockfile::new(Path::new("uv.lock"), LockFormat::Uv);
        lockfile.packages = vec![
            package(
                "app",
                vec![
                    artifact("app-1.0-py3-none-any.whl", vec![hash("sha256", "a".repeat(64), 3)], Some(10), 2),
                    artifact("app-1.0.tar.gz", vec![hash("sha256", "e".repeat(64), 5)], None, 4),
                ],
                1,
            ),
            package(
                "winonly",
                vec![artifact("winonly-1.0-cp311-cp311-win_amd64.whl", vec![hash("md5", "f".repeat(32), 7)], None, 7)],
                6,
            ),
            package("bare", Vec::new(), 8),
        ];
        let target = Target::from_options(Some("3.11"), Some("linux")).expect("target");
        let (_, findings) = audit(&lockfile, &Selection::default(), &index, &target).expect("audits");
        let found: BTreeSet<(String, String, String)> = findings
            .iter()
            .map(|f| {
                (f.code.to_string(), f.package.clone().unwrap_or_default(), f.location.clone().unwrap_or_default())
            })
            .collect();
        let expected: BTreeSet<(String, String, String)> = [
            ("hash-mismatch", "app", "uv.lock:3"),
            ("size-mismatch", "app", "uv.lock:2"),
            ("not-on-index", "app", "uv.lock:4"),
            ("weak-hash-only", "winonly", "uv.lock:7"),
            ("no-file-for-target", "winonly", "uv.lock:6"),
            ("missing-hash", "bare", "uv.lock:8"),
        ]
        .into_iter()
        .map(|(code, package, location)| (code.to_string(), package.to_string(), location.to_string()))
        .collect();
        let unexpected: Vec<_> = found.difference(&expected).collect();
        let absent: Vec<_> = expected.difference(&found).collect();
        assert!(unexpected.is_empty() && absent.is_empty(), "unexpected {unexpected:#?}, absent {absent:#?}");
    }

    /// A package pinned at 1.0 at `file:line`, with nothing else recorded.
    fn locked(name: &str, file: &str, line: usize) -> Package {
        let location = crate::lockfile::Location { file: file.into(), line };
        Package { version: Some("1.0".parse().expect("version")), ..Package::named(name, location) }
    }

    /// The extras a lock records hold for the whole lock: with a group selected, what only an
    /// extra brings is not missing when the lock has it (under the extra's selection).
    #[test]
    fn a_selected_group_does_not_need_what_another_selections_extra_brings() {
        let mut index = FakeIndex::default();
        index.release("lib", "1.0", &["pysocks ; extra == 'socks'"]).release("pysocks", "1.0", &[]);
        index.release("pytest", "1.0", &[]);
        let mut lockfile = Lockfile::new(Path::new("uv.lock"), LockFormat::Uv);
        let mut lib = locked("lib", "uv.lock", 1);
        lib.extras = vec!["socks".parse().expect("extra")];
        lib.groups = [Selector::Default, Selector::group("dev")].into();
        let mut pysocks = locked("pysocks", "uv.lock", 2);
        pysocks.groups = [Selector::extra("socks")].into();
        let mut pytest = locked("pytest", "uv.lock", 3);
        pytest.groups = [Selector::group("dev")].into();
        lockfile.packages = vec![lib, pysocks, pytest];
        let target = Target::from_options(Some("3.11"), Some("linux")).expect("target");
        let missing = |selection: &Selection, lockfile: &Lockfile| {
            let (_, findings) = audit(lockfile, selection, &index, &target).expect("audits");
            findings.into_iter().filter(|f| f.code == Code::MissingDependency).count()
        };
        let dev = Selection { selectors: [Selector::group("dev")].into() };
        assert_eq!(missing(&dev, &lockfile), 0);
        assert_eq!(missing(&Selection::default(), &lockfile), 0);
        // Not in the lock at all: missing, whatever is selected.
        lockfile.packages.remove(1);
        assert_eq!(missing(&dev, &lockfile), 1);
    }

    /// uv writes `pyyaml-6.0.2-….whl` for the index's `PyYAML-6.0.2-….whl`: the same file.
    #[test]
    fn a_normalised_filename_in_the_lock_names_the_index_file() {
        use crate::lockfile::{Artifact, Hash};
        let mut index = FakeIndex::default();
        let mut dist = crate::resolve::candidates::tests::file("PyYAML-1.0-py3-none-any.whl", None, false);
        dist.hashes.insert("sha256".into(), "b".repeat(64));
        index.release_file("pyyaml", "1.0", &[], dist);
        let mut lockfile = Lockfile::new(Path::new("pylock.toml"), LockFormat::Pylock);
        let mut package = locked("pyyaml", "pylock.toml", 1);
        let location = package.location.clone();
        package.artifacts = vec![Artifact {
            filename: Some("pyyaml-1.0-py3-none-any.whl".into()),
            url: None,
            hashes: vec![Hash { algorithm: "sha256".into(), hex: "b".repeat(64), location: location.clone() }],
            size: None,
            upload_time: None,
            location,
        }];
        lockfile.packages = vec![package];
        let target = Target::from_options(Some("3.11"), Some("linux")).expect("target");
        let (_, findings) = audit(&lockfile, &Selection::default(), &index, &target).expect("audits");
        assert_eq!(findings, Vec::new());
    }

    /// Pipenv locks a package its markers exclude as `*`: a note where the audited
    /// environment does not install it, an error where it does.
    #[test]
    fn a_package_locked_without_a_version_is_an_error_where_it_is_installed() {
        let index = FakeIndex::default();
        let mut lockfile = Lockfile::new(Path::new("Pipfile.lock"), LockFormat::Pipfile);
        let mut winonly = locked("winonly", "Pipfile.lock", 7);
        winonly.version = None;
        winonly.marker = crate::requirement::parse("winonly ; sys_platform == 'win32'").expect("marker").marker;
        lockfile.packages = vec![winonly];
        let severity = |platform: &str| {
            let target = Target::from_options(Some("3.11"), Some(platform)).expect("target");
            let (_, findings) = audit(&lockfile, &Selection::default(), &index, &target).expect("audits");
            let found: Vec<_> = findings.iter().map(|f| (f.code, f.severity, f.location.clone())).collect();
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!((found[0].0, found[0].2.as_deref()), (Code::Unpinned, Some("Pipfile.lock:7")));
            found[0].1
        };
        assert_eq!((severity("linux"), severity("windows")), (Severity::Info, Severity::Error));
    }

    /// An installer accepts a file on any hash the lock lists; a hash the index cannot check is
    /// an error. And for one target, a package its marker keeps out is not judged there.
    #[test]
    fn every_recorded_hash_must_be_one_the_index_vouches_for() {
        use crate::lockfile::{Artifact, Hash};
        let mut index = FakeIndex::default();
        let mut dist = crate::resolve::candidates::tests::file("app-1.0-py3-none-any.whl", None, false);
        dist.hashes.insert("sha256".into(), "b".repeat(64));
        index.release_file("app", "1.0", &[], dist);
        index.release_file(
            "winonly",
            "1.0",
            &[],
            crate::resolve::candidates::tests::file("winonly-1.0-cp311-cp311-win_amd64.whl", None, false),
        );
        let mut app = locked("app", "pylock.toml", 1);
        let at = |line| crate::lockfile::Location { file: "pylock.toml".into(), line };
        app.artifacts = vec![Artifact {
            filename: Some("app-1.0-py3-none-any.whl".into()),
            url: None,
            hashes: vec![
                Hash { algorithm: "sha256".into(), hex: "b".repeat(64), location: at(2) },
                Hash { algorithm: "sha512".into(), hex: "a".repeat(128), location: at(3) },
            ],
            size: None,
            upload_time: None,
            location: at(2),
        }];
        let mut winonly = locked("winonly", "pylock.toml", 5);
        winonly.marker = crate::requirement::parse("winonly ; sys_platform == 'win32'").expect("marker").marker;
        let mut lockfile = Lockfile::new(Path::new("pylock.toml"), LockFormat::Pylock);
        lockfile.packages = vec![app, winonly];
        let target = Target::from_options(Some("3.11"), Some("linux")).expect("target");
        let (_, findings) = audit(&lockfile, &Selection::default(), &index, &target).expect("audits");
        let found: Vec<_> = findings.iter().map(|f| (f.code, f.location.clone().unwrap_or_default())).collect();
        assert_eq!(found, [(Code::UnverifiableHash, "pylock.toml:3".to_string())]);
    }
}
