//! Auditing an existing requirements file: what pip would do with it under
//! `--require-hashes`, compared with what the index publishes, for one target or (universal)
//! for every environment, reading the markers on the file's lines.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pep508_rs::pep440_rs::{Operator, Version};
use pep508_rs::{MarkerTree, PackageName, Requirement, VersionOrUrl};

use crate::dist::{DistFilename, Formats};
use crate::findings::{Code, Finding, Severity, check_lock, check_lock_with};
use crate::index::http::redact_text;
use crate::index::{IndexError, Project};
use crate::lock::{Lock, LockedPackage, PIP_ALGORITHMS, files_of_version, sources_of_version};
use crate::reqfile::{Entry, EntryKind, FileOption, Opt, RequirementsFile};
use crate::resolve::Source;
use crate::resolve::markers::{display, normalize, python_at_least};
use crate::target::Target;

/// A requirement pinned to one version, with where it stands in the file.
struct Pin<'a> {
    entry: &'a Entry,
    requirement: &'a Requirement,
    version: Version,
}

/// The lock the file describes (its pinned requirements with their published files), and every
/// finding about it. Index errors other than "not found" abort the audit.
pub fn audit(
    file: &RequirementsFile,
    source: &dyn Source,
    target: &Target,
) -> Result<(Lock, Vec<Finding>), IndexError> {
    let mut findings = static_checks(file);
    let requirements: Vec<&Entry> = file.entries.iter().filter(|e| !e.constraint).collect();
    let pins: Vec<Pin> = requirements.iter().filter_map(|entry| pin_of(entry)).collect();

    // Ask for every page at once (the source fetches them on its I/O pool), then collect.
    for pin in &pins {
        source.prefetch_project(&pin.requirement.name);
    }
    let mut projects: BTreeMap<PackageName, Arc<Project>> = BTreeMap::new();
    for pin in &pins {
        match source.project(&pin.requirement.name) {
            Ok(project) => {
                projects.insert(pin.requirement.name.clone(), project);
            }
            Err(IndexError::NotFound { .. }) => findings.push(
                Finding::new(
                    Code::NotOnIndex,
                    Some(&pin.requirement.name),
                    format!("{} is not on the index", pin.requirement.name),
                )
                .at(&pin.entry.location),
            ),
            Err(error) => return Err(error),
        }
    }

    let mut packages = Vec::new();
    let mut located: Vec<(&Pin, LockedPackage)> = Vec::new();
    for pin in &pins {
        let Some(project) = projects.get(&pin.requirement.name) else { continue };
        let files = files_of_version(project, &pin.version);
        if files.is_empty() {
            findings.push(
                Finding::new(
                    Code::NotOnIndex,
                    Some(&pin.requirement.name),
                    format!("{} {} is not on the index", pin.requirement.name, pin.version),
                )
                .at(&pin.entry.location),
            );
            continue;
        }
        source.prefetch_metadata(project, &pin.version);
        let package = LockedPackage {
            name: pin.requirement.name.clone(),
            version: pin.version.clone(),
            marker: pin.requirement.marker.clone(),
            required_by: BTreeSet::new(),
            files,
            sources: sources_of_version(project, &pin.version),
        };
        findings.extend(hash_checks(pin, &package, target, file.format_control.allowed(&package.name)));
        located.push((pin, package));
    }

    findings.extend(missing_dependencies(&located, &projects, source, target, &file.entries));

    for (pin, package) in &located {
        // The published-hash evidence, located at the requirement's line.
        let single = Lock { packages: vec![package.clone()] };
        findings.extend(
            check_lock_with(&single, target, &|name| file.format_control.allowed(name))
                .into_iter()
                .filter(|f| f.package.is_some())
                .map(|f| f.at(&pin.entry.location)),
        );
        packages.push(package.clone());
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let lock = Lock { packages };
    findings.extend(check_lock(&lock, target).into_iter().filter(|f| f.package.is_none()));
    for finding in &mut findings {
        finding.message = file.as_written(&finding.message);
        finding.location = finding.location.as_deref().map(|location| file.as_written(location));
    }
    findings.sort();
    findings.dedup();
    Ok((lock, findings))
}

/// `==X` (without a wildcard) or `===X`: the only forms pip's hash checking accepts.
fn pin_of(entry: &Entry) -> Option<Pin<'_>> {
    let EntryKind::Named(requirement) = &entry.kind else { return None };
    let Some(VersionOrUrl::VersionSpecifier(specifiers)) = &requirement.version_or_url else { return None };
    let mut iter = specifiers.iter();
    let (Some(only), None) = (iter.next(), iter.next()) else { return None };
    matches!(only.operator(), Operator::Equal | Operator::ExactEqual).then(|| Pin {
        entry,
        requirement,
        version: only.version().clone(),
    })
}

/// Findings that need only the file itself.
fn static_checks(file: &RequirementsFile) -> Vec<Finding> {
    let mut findings: Vec<Finding> = file.options.iter().map(|option| option_finding(option, None)).collect();
    let hashed_file = file.require_hashes || file.entries.iter().any(|e| !e.hashes.is_empty());
    for entry in file.entries.iter().filter(|e| !e.constraint) {
        let (name, display) = match &entry.kind {
            EntryKind::Named(requirement) => (Some(&requirement.name), requirement.to_string()),
            EntryKind::Editable(what) | EntryKind::Url(what) => {
                findings.push(
                    Finding::new(
                        Code::Unhashable,
                        None,
                        format!(
                            "`{}`: editable, VCS, URL or directory requirements cannot be hash-checked",
                            redact_text(what)
                        ),
                    )
                    .at(&entry.location),
                );
                continue;
            }
        };
        if pin_of(entry).is_none() {
            findings.push(
                Finding::new(
                    Code::Unpinned,
                    name,
                    format!("`{display}` is not pinned with == (pip --require-hashes refuses it)"),
                )
                .at(&entry.location),
            );
        }
        if entry.hashes.is_empty() {
            let consequence = if hashed_file {
                "in a file that uses hashes (pip refuses the whole file)"
            } else {
                "(nor does any line: pip installs whatever the index serves, unchecked)"
            };
            findings.push(
                Finding::new(Code::UnhashedRequirement, name, format!("`{display}` has no --hash {consequence}"))
                    .at(&entry.location),
            );
        }
        findings.extend(entry.options.iter().map(|option| option_finding(option, name)));
        for hash in &entry.hashes {
            if !PIP_ALGORITHMS.contains(&hash.algorithm.as_str()) {
                findings.push(
                    Finding::new(
                        Code::WeakHashOnly,
                        name,
                        format!(
                            "--hash={}:… uses {}, which pip rejects (allowed: sha256, sha384, sha512)",
                            hash.algorithm, hash.algorithm
                        ),
                    )
                    .at(&hash.location),
                );
            }
        }
    }
    for orphan in &file.orphaned_hashes {
        // The requirement it was cut from: the last one above it in the same file.
        let owner = file
            .entries
            .iter()
            .filter(|e| e.location.file == orphan.hash.location.file && e.location.line < orphan.hash.location.line)
            .max_by_key(|e| e.location.line);
        let (name, from) = match owner.map(|e| &e.kind) {
            Some(EntryKind::Named(requirement)) => {
                (Some(&requirement.name), format!("`{requirement}` (line {})", owner.map_or(0, |e| e.location.line)))
            }
            _ => (None, "its requirement".to_string()),
        };
        findings.push(
            Finding::new(
                Code::OrphanedHash,
                name,
                format!(
                    "--hash={}:{}… is cut off from {from} (a comment line or a line break ends that requirement first); pip ignores it silently",
                    orphan.hash.algorithm,
                    orphan.hash.hex.get(..12).unwrap_or(&orphan.hash.hex)
                ),
            )
            .at(&orphan.hash.location),
        );
    }
    findings
}

/// An option that makes pip fetch from, trust or build with something this audit did not check.
fn option_finding(option: &FileOption, package: Option<&PackageName>) -> Finding {
    let (severity, effect) = match option.opt {
        Opt::IndexUrl | Opt::ExtraIndexUrl => (Severity::Error, "pip fetches from an index this audit did not check"),
        Opt::NoIndex => (Severity::Error, "pip ignores the index and takes files from --find-links locations only"),
        Opt::FindLinks => (Severity::Error, "pip also takes files from a location this audit did not check"),
        Opt::TrustedHost => (Severity::Error, "pip accepts that host without a verified certificate"),
        Opt::GlobalOption | Opt::InstallOption | Opt::ConfigSettings => {
            (Severity::Error, "passed to the build of the package, which runs with it")
        }
        Opt::NoBinary => {
            (Severity::Warning, "pip builds these from sdists, and build dependencies are not hash-checked")
        }
        Opt::Pre => (Severity::Warning, "pip may pick pre-releases"),
        Opt::OnlyBinary | Opt::PreferBinary => (Severity::Info, "changes which file pip picks"),
        _ => (Severity::Warning, "changes what pip does"),
    };
    let written = if option.value.is_empty() {
        option.opt.name().to_string()
    } else {
        format!("{} {}", option.opt.name(), redact_text(&option.value))
    };
    let mut finding = Finding::new(Code::FileOption, package, format!("`{written}`: {effect}")).at(&option.location);
    finding.severity = severity;
    finding
}

/// Hashes in the file that match nothing published, and published files the file lacks.
/// `formats`: what pip may install of the package.
fn hash_checks(pin: &Pin, package: &LockedPackage, target: &Target, formats: Formats) -> Vec<Finding> {
    let name = Some(&package.name);
    let what = format!("{} {}", package.name, package.version);
    let mut findings = Vec::new();
    let published: BTreeSet<(&str, &str)> =
        package.files.iter().flat_map(|f| f.hashes.iter().map(|(alg, hex)| (alg.as_str(), hex.as_str()))).collect();
    for hash in &pin.entry.hashes {
        if !published.contains(&(hash.algorithm.as_str(), hash.hex.as_str())) {
            findings.push(
                Finding::new(
                    Code::HashMismatch,
                    name,
                    format!(
                        "{what}: --hash={}:{} matches no published file of this version (stale or tampered)",
                        hash.algorithm, hash.hex
                    ),
                )
                .at(&hash.location),
            );
        }
    }
    if pin.entry.hashes.is_empty() {
        return findings;
    }
    let in_file: BTreeSet<(&str, &str)> =
        pin.entry.hashes.iter().map(|h| (h.algorithm.as_str(), h.hex.as_str())).collect();
    let lacking: Vec<&crate::dist::DistFile> = package
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
                "{what}: no hash for {} published file(s), so pip fails where it picks them ({}): {}",
                lacking.len(),
                platforms,
                names.join(", ")
            ),
        )
        .at(&pin.entry.location);
        if let Some(env) = broken {
            finding.severity = crate::findings::Severity::Error;
            finding.message.push_str(&format!(" — including the file {} installs", env.describe()));
        }
        findings.push(finding);
    }
    findings
}

/// Whether pip on the target would pick `filename`: the best-ranked compatible wheel, or the
/// sdist when no wheel fits (or `formats` allows none).
fn preferred_for_target(package: &LockedPackage, filename: &str, target: &Target, formats: Formats) -> bool {
    let parsed: Vec<(String, DistFilename)> = package
        .files
        .iter()
        .filter_map(|f| DistFilename::parse(&f.filename, &package.name).map(|p| (f.filename.clone(), p)))
        .collect();
    let best_wheel = parsed
        .iter()
        .filter_map(|(name, p)| match p {
            DistFilename::Wheel(w) if formats.wheel => target.wheel_priority(w).map(|rank| (rank, name)),
            _ => None,
        })
        .min();
    match best_wheel {
        Some((_, best)) => best == filename,
        None => formats.sdist && parsed.iter().any(|(name, p)| !p.is_wheel() && name == filename),
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

/// Dependencies of pinned packages, active for the target, that the file does not list. For a
/// universal target, a dependency is missing where its marker (and its dependent's line marker)
/// holds but no line of the file for it does.
fn missing_dependencies(
    located: &[(&Pin, LockedPackage)],
    projects: &BTreeMap<PackageName, Arc<Project>>,
    source: &dyn Source,
    target: &Target,
    entries: &[Entry],
) -> Vec<Finding> {
    let environment = target.marker_environment();
    // For one target, a line counts only where pip installs it: its marker true there.
    let listed: BTreeSet<&PackageName> = entries
        .iter()
        .filter(|e| !e.constraint)
        .filter_map(|e| match &e.kind {
            EntryKind::Named(r) if r.evaluate_markers(&environment, &[]) => Some(&r.name),
            _ => None,
        })
        .collect();
    let mut provided: BTreeMap<&PackageName, MarkerTree> = BTreeMap::new();
    for entry in entries.iter().filter(|e| !e.constraint) {
        if let EntryKind::Named(r) = &entry.kind {
            provided.entry(&r.name).or_insert(MarkerTree::FALSE).or(normalize(&r.marker, &[]));
        }
    }
    let lowest = target.lowest_python();
    let mut findings = Vec::new();
    for (pin, package) in located {
        // pip skips a line whose marker is false for the target, and its dependencies with it.
        if !target.is_universal() && !pin.requirement.evaluate_markers(&environment, &[]) {
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
                    .at(&pin.entry.location),
                );
                continue;
            }
        };
        for dependency in &metadata.requires_dist {
            if target.is_universal() {
                let mut missing = python_at_least(&lowest);
                missing.and(normalize(&pin.requirement.marker, &[]));
                missing.and(normalize(&dependency.marker, &pin.requirement.extras));
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
                            "{} {} requires `{dependency}`, which the file lacks {environments} (pip --require-hashes fails there)",
                            package.name, package.version
                        ),
                    )
                    .at(&pin.entry.location),
                );
            } else if dependency.evaluate_markers(&environment, &pin.requirement.extras)
                && !listed.contains(&dependency.name)
            {
                findings.push(
                    Finding::new(
                        Code::MissingDependency,
                        Some(&dependency.name),
                        format!(
                            "{} {} requires `{dependency}`, which is not in the file (pip --require-hashes fails on {})",
                            package.name,
                            package.version,
                            target.describe()
                        ),
                    )
                    .at(&pin.entry.location),
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
        let file = crate::reqfile::parse_str(text, Path::new("requirements.txt")).expect("parses");
        let (_, findings) = audit(&file, index, target).expect("audits");
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
}
