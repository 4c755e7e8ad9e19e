//! The PEP 740 provenance of a lock: every file's verdict ([`judge`]), each package's verified
//! publishers, and the findings: an attestation that does not verify (`provenance-invalid`), files
//! without provenance (`provenance-missing`), provenance the release before had and the pinned one
//! lacks (`provenance-dropped`), a publisher other than the release before's (`publisher-changed`),
//! and files not published by the identities a lock records (`publisher-mismatch`).
//!
//! The release before is judged by one of its files (its sdist, else its first wheel that lists
//! provenance): a release is uploaded by one workflow run, and one file says who ran it.

use std::collections::BTreeMap;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use rayon::prelude::*;

use crate::check::findings::{Code, Finding, Severity};
use crate::check::provenance::Publisher;
use crate::dist::DistFile;
use crate::index::Project;
use crate::index::provenance::{AttestationVerifier, FileProvenance, Publisher as Claim, judge};
use crate::lock::{Lock, LockedPackage};
use crate::lockfile::Location;
use crate::resolve::Source;

/// The attestation identities a lock records for a package, and the files it records.
pub struct LockedIdentities<'l> {
    pub identities: &'l [Claim],
    pub filenames: Vec<&'l str>,
    pub location: &'l Location,
}

/// What a lock says of each package's publishers, when it says anything (pylock.toml).
pub type Identities<'l> = dyn Fn(&LockedPackage) -> Option<LockedIdentities<'l>> + Sync + 'l;

/// The publishers each pinned package is locked to.
pub type PublishersByPin = BTreeMap<(PackageName, Version), Vec<Claim>>;

/// The verdicts on one package of the lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageProvenance {
    /// In the order of the package's files.
    pub files: Vec<FileProvenance>,
    /// The release before the pinned one, and the verdict on one of its files; `None` when
    /// there is none (a first release) or it lists no provenance to judge.
    pub previous: Option<(Version, FileProvenance)>,
}

impl PackageProvenance {
    /// The distinct publishers of the verified files, in file order.
    pub fn publishers(&self) -> Vec<Claim> {
        publishers(&self.files)
    }

    /// The publishers to lock: those of every file, when every file verified.
    pub fn lockable_publishers(&self) -> Option<Vec<Claim>> {
        let all_verified = !self.files.is_empty() && self.files.iter().all(is_verified);
        all_verified.then(|| self.publishers())
    }
}

/// The provenance of a whole lock: one entry per package, in lock order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    pub packages: Vec<PackageProvenance>,
    pub findings: Vec<Finding>,
}

impl Assessment {
    /// The publishers each fully verified package can be locked to, keyed by name and version.
    pub fn identities(&self, lock: &Lock) -> PublishersByPin {
        let lockable = lock.packages.iter().zip(&self.packages).filter_map(|(package, provenance)| {
            Some(((package.name.clone(), package.version.clone()), provenance.lockable_publishers()?))
        });
        lockable.collect()
    }
}

/// Judges every file of `lock` (fetched in parallel on the source's pool), and the release
/// before each pinned one. `required`: `--require-provenance` (a file without verified
/// provenance is an error).
pub fn assess(
    lock: &Lock,
    source: &dyn Source,
    verifier: &dyn AttestationVerifier,
    required: bool,
    locked: &Identities<'_>,
) -> Assessment {
    let previous: Vec<Option<(Version, DistFile)>> = lock
        .packages
        .iter()
        .map(|package| {
            let project = source.project(&package.name).ok()?;
            previous_release(&project, &package.version)
        })
        .collect();
    for file in lock.packages.iter().flat_map(|p| &p.files).chain(previous.iter().flatten().map(|(_, file)| file)) {
        source.prefetch_provenance(file);
    }
    let packages: Vec<PackageProvenance> = lock
        .packages
        .par_iter()
        .zip(&previous)
        .map(|(package, previous)| PackageProvenance {
            files: package.files.par_iter().map(|file| judge(file, &source.provenance(file), verifier)).collect(),
            previous: previous
                .as_ref()
                .map(|(version, file)| (version.clone(), judge(file, &source.provenance(file), verifier))),
        })
        .collect();
    let mut findings: Vec<Finding> = lock
        .packages
        .iter()
        .zip(&packages)
        .flat_map(|(package, provenance)| package_findings(package, provenance, required, locked(package).as_ref()))
        .collect();
    // An index that serves no provenance at all (most mirrors, most private indexes) is not
    // told package by package: the report's provenance column and count say it, and
    // `--require-provenance` makes it one error.
    let files = packages.iter().map(|p| p.files.len()).sum::<usize>();
    if files > 0 && packages.iter().flat_map(|p| &p.files).all(|v| *v == FileProvenance::Absent) {
        findings.retain(|f| f.code != Code::ProvenanceMissing);
        if required {
            let packages = lock.packages.len();
            let message = format!("none of the {files} files of the {packages} pinned packages has provenance");
            findings.push(missing(None, message, required));
        }
    }
    findings.sort();
    Assessment { packages, findings }
}

/// The highest release below `pinned` with a file that lists provenance, and that file (its
/// sdist, else its first such wheel). A final release is compared with final releases only,
/// and releases whose every file is yanked are passed over.
fn previous_release(project: &Project, pinned: &Version) -> Option<(Version, DistFile)> {
    let (version, release) = project.releases().rev().find(|(version, release)| {
        *version < pinned
            && (pinned.any_prerelease() || !version.any_prerelease())
            && release.summaries().any(|file| !file.yanked)
    })?;
    let listed: Vec<&DistFile> = release.files().filter(|file| file.provenance.is_some()).collect();
    let file = listed.iter().find(|file| !file.filename.ends_with(".whl")).or(listed.first())?;
    Some((version.clone(), (*file).clone()))
}

fn is_verified(verdict: &FileProvenance) -> bool {
    matches!(verdict, FileProvenance::Verified { .. })
}

fn publishers(verdicts: &[FileProvenance]) -> Vec<Claim> {
    let mut out: Vec<Claim> = Vec::new();
    for verdict in verdicts {
        if let FileProvenance::Verified { publishers } = verdict {
            for publisher in publishers {
                if !out.iter().any(|seen| same_publisher(seen, publisher)) {
                    out.push(publisher.clone());
                }
            }
        }
    }
    out
}

/// Whether two publisher objects name one identity: the same kind and identity keys, and no
/// optional key (an environment, a ref) set to two different values. Kinds hashlock does not
/// know are compared key for key.
pub fn same_publisher(a: &Claim, b: &Claim) -> bool {
    match (typed(a), typed(b)) {
        (Some(x), Some(y)) => x.satisfies(&y) || y.satisfies(&x),
        _ => a == b,
    }
}

fn typed(claim: &Claim) -> Option<Publisher> {
    serde_json::to_value(claim).and_then(serde_json::from_value).ok()
}

/// `GitHub trailofbits/pypi-attestations (release.yml)`: a publisher for a message.
pub fn describe(claim: &Claim) -> String {
    match typed(claim) {
        Some(Publisher::GitHub { repository, workflow, .. }) => format!("GitHub {repository} ({workflow})"),
        Some(Publisher::GitLab { repository, workflow_filepath, .. }) => {
            format!("GitLab {repository} ({workflow_filepath})")
        }
        Some(Publisher::Google { email }) => format!("Google {email}"),
        Some(Publisher::CircleCI { project_id, .. }) => format!("CircleCI project {project_id}"),
        None => serde_json::to_string(claim).unwrap_or_else(|_| claim.kind.clone()),
    }
}

fn describe_all(claims: &[Claim]) -> String {
    claims.iter().map(describe).collect::<Vec<_>>().join(", ")
}

/// The findings on one package, from its verdicts alone.
pub fn package_findings(
    package: &LockedPackage,
    provenance: &PackageProvenance,
    required: bool,
    locked: Option<&LockedIdentities<'_>>,
) -> Vec<Finding> {
    let name = Some(&package.name);
    let what = format!("{} {}", package.name, package.version);
    let mut findings = Vec::new();
    let verdicts = || package.files.iter().zip(&provenance.files);
    for (file, verdict) in verdicts() {
        if let FileProvenance::Invalid { reason } = verdict {
            findings.push(Finding::new(
                Code::ProvenanceInvalid,
                name,
                format!("{what}: the provenance of {} does not verify: {reason}", file.filename),
            ));
        }
    }
    let absent: Vec<&str> =
        verdicts().filter(|(_, v)| **v == FileProvenance::Absent).map(|(f, _)| f.filename.as_str()).collect();
    if !absent.is_empty() {
        let which = if absent.len() == package.files.len() {
            match absent.len() {
                1 => "its file has no provenance".to_string(),
                n => format!("none of its {n} files has provenance"),
            }
        } else {
            format!("{} of its {} files have no provenance: {}", absent.len(), package.files.len(), absent.join(", "))
        };
        findings.push(missing(name, format!("{what}: {which}"), required));
    }
    let pinned = provenance.publishers();
    if let Some((version, FileProvenance::Verified { publishers: before })) = &provenance.previous {
        let any_verified = provenance.files.iter().any(is_verified);
        let any_invalid = provenance.files.iter().any(|v| matches!(v, FileProvenance::Invalid { .. }));
        if !any_verified && !any_invalid && !package.files.is_empty() {
            findings.push(Finding::new(
                Code::ProvenanceDropped,
                name,
                format!(
                    "{what} has no provenance, but {version} was published with verified provenance by {}: \
                     was this release uploaded outside its Trusted Publisher (with a stolen token)?",
                    describe_all(before)
                ),
            ));
        } else if !pinned.is_empty() && !pinned.iter().any(|p| before.iter().any(|b| same_publisher(p, b))) {
            findings.push(Finding::new(
                Code::PublisherChanged,
                name,
                format!(
                    "{what} is published by {}, and {version} was published by {}",
                    describe_all(&pinned),
                    describe_all(before)
                ),
            ));
        }
    }
    if let Some(locked) = locked.filter(|locked| !locked.identities.is_empty()) {
        findings.extend(mismatches(&what, name, package, provenance, locked));
    }
    findings
}

/// `provenance-missing`: an info, or an error under `--require-provenance`.
fn missing(name: Option<&PackageName>, message: String, required: bool) -> Finding {
    let mut finding = Finding::new(Code::ProvenanceMissing, name, message);
    if required {
        finding.severity = Severity::Error;
    }
    finding
}

/// Each recorded file whose verified publisher is none of the lock's identities, or that has
/// no provenance at all. (An invalid one is already `provenance-invalid`.)
fn mismatches(
    what: &str,
    name: Option<&PackageName>,
    package: &LockedPackage,
    provenance: &PackageProvenance,
    locked: &LockedIdentities<'_>,
) -> Vec<Finding> {
    let expected = describe_all(locked.identities);
    let recorded = |file: &DistFile| locked.filenames.contains(&file.filename.as_str());
    let mut findings = Vec::new();
    for (file, verdict) in package.files.iter().zip(&provenance.files).filter(|(file, _)| recorded(file)) {
        let problem = match verdict {
            FileProvenance::Verified { publishers } => {
                let matches = publishers.iter().any(|p| locked.identities.iter().any(|l| same_publisher(p, l)));
                if matches {
                    continue;
                }
                format!("is published by {}", describe_all(publishers))
            }
            FileProvenance::Absent => "has no provenance".to_string(),
            FileProvenance::Invalid { .. } => continue,
        };
        findings.push(
            Finding::new(
                Code::PublisherMismatch,
                name,
                format!("{what}: {} {problem}, and the lock admits only {expected}", file.filename),
            )
            .at(locked.location),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::json;

    use super::*;

    fn claim(value: serde_json::Value) -> Claim {
        serde_json::from_value(value).unwrap()
    }

    fn github(repository: &str) -> Claim {
        claim(json!({"kind": "GitHub", "repository": repository, "workflow": "release.yml", "environment": null}))
    }

    fn verified(publisher: Claim) -> FileProvenance {
        FileProvenance::Verified { publishers: vec![publisher] }
    }

    fn invalid() -> FileProvenance {
        FileProvenance::Invalid { reason: "the signature does not verify".into() }
    }

    fn package(files: &[&str]) -> LockedPackage {
        let files =
            files.iter().map(|name| crate::resolve::candidates::tests::file(name, None, false)).collect::<Vec<_>>();
        LockedPackage {
            name: "demo".parse().unwrap(),
            version: "2.0".parse().unwrap(),
            marker: pep508_rs::MarkerTree::TRUE,
            required_by: BTreeSet::new(),
            files,
            sources: Vec::new(),
        }
    }

    const FILES: [&str; 2] = ["demo-2.0.tar.gz", "demo-2.0-py3-none-any.whl"];

    fn provenance(files: Vec<FileProvenance>, previous: Option<FileProvenance>) -> PackageProvenance {
        PackageProvenance { files, previous: previous.map(|verdict| ("1.9".parse().unwrap(), verdict)) }
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings.iter().map(|f| (f.code.as_str(), f.severity)).collect()
    }

    fn findings(provenance: &PackageProvenance) -> Vec<Finding> {
        package_findings(&package(&FILES), provenance, false, None)
    }

    #[test]
    fn releases_by_the_same_publisher_raise_nothing() {
        let same = provenance(vec![verified(github("o/demo")); 2], Some(verified(github("o/demo"))));
        assert_eq!(findings(&same), []);
        // The repository is compared as the forge does, without case.
        let renamed_case = provenance(vec![verified(github("O/Demo")); 2], Some(verified(github("o/demo"))));
        assert_eq!(findings(&renamed_case), []);
        // A first release, or one after releases without provenance: nothing to compare.
        assert_eq!(findings(&provenance(vec![verified(github("o/demo")); 2], None)), []);
        assert_eq!(findings(&provenance(vec![verified(github("o/demo")); 2], Some(FileProvenance::Absent))), []);
    }

    #[test]
    fn a_release_without_provenance_after_a_verified_one_is_dropped() {
        let dropped = findings(&provenance(vec![FileProvenance::Absent; 2], Some(verified(github("o/demo")))));
        assert_eq!(
            codes(&dropped),
            [("provenance-missing", Severity::Info), ("provenance-dropped", Severity::Warning)]
        );
        assert!(dropped[1].message.contains("1.9 was published with verified provenance by GitHub o/demo"));
        // An invalid one is already an error of its own, and not "dropped".
        let broken = findings(&provenance(vec![invalid(), FileProvenance::Absent], Some(verified(github("o/demo")))));
        assert_eq!(codes(&broken), [("provenance-invalid", Severity::Error), ("provenance-missing", Severity::Info)]);
        assert!(broken[1].message.contains("1 of its 2 files have no provenance: demo-2.0-py3-none-any.whl"));
    }

    #[test]
    fn another_identity_than_the_release_before_is_a_changed_publisher() {
        let moved = findings(&provenance(vec![verified(github("thief/demo")); 2], Some(verified(github("o/demo")))));
        assert_eq!(codes(&moved), [("publisher-changed", Severity::Warning)]);
        assert_eq!(
            moved[0].message,
            "demo 2.0 is published by GitHub thief/demo (release.yml), and 1.9 was published by GitHub o/demo (release.yml)"
        );
        let google = claim(json!({"kind": "Google", "email": "ci@demo.iam.example"}));
        let kind_changed = findings(&provenance(vec![verified(google); 2], Some(verified(github("o/demo")))));
        assert_eq!(codes(&kind_changed), [("publisher-changed", Severity::Warning)]);
        // An environment set on one side only is the same identity; two different ones are not.
        let with_environment = |environment: &str| {
            claim(
                json!({"kind": "GitHub", "repository": "o/demo", "workflow": "release.yml", "environment": environment}),
            )
        };
        let added = provenance(vec![verified(with_environment("pypi")); 2], Some(verified(github("o/demo"))));
        assert_eq!(findings(&added), []);
        let other = provenance(vec![verified(with_environment("pypi")); 2], Some(verified(with_environment("test"))));
        assert_eq!(codes(&findings(&other)), [("publisher-changed", Severity::Warning)]);
    }

    #[test]
    fn require_provenance_makes_a_missing_one_an_error() {
        let missing = provenance(vec![verified(github("o/demo")), FileProvenance::Absent], None);
        let required = package_findings(&package(&FILES), &missing, true, None);
        assert_eq!(codes(&required), [("provenance-missing", Severity::Error)]);
    }

    #[test]
    fn files_published_by_another_identity_than_the_lock_names_are_mismatches() {
        let location = Location { file: "pylock.toml".into(), line: 7 };
        let identities = [github("o/demo")];
        let locked = LockedIdentities { identities: &identities, filenames: FILES.to_vec(), location: &location };
        let check = |files: Vec<FileProvenance>| {
            package_findings(&package(&FILES), &provenance(files, None), false, Some(&locked))
        };
        assert_eq!(check(vec![verified(github("o/demo")); 2]), []);
        let swapped = check(vec![verified(github("o/demo")), verified(github("other/project"))]);
        assert_eq!(codes(&swapped), [("publisher-mismatch", Severity::Error)]);
        assert_eq!(swapped[0].location.as_deref(), Some("pylock.toml:7"));
        assert_eq!(
            swapped[0].message,
            "demo 2.0: demo-2.0-py3-none-any.whl is published by GitHub other/project (release.yml), and the lock \
             admits only GitHub o/demo (release.yml)"
        );
        let stripped = check(vec![verified(github("o/demo")), FileProvenance::Absent]);
        assert_eq!(codes(&stripped), [("provenance-missing", Severity::Info), ("publisher-mismatch", Severity::Error)]);
        assert!(stripped[1].message.contains("demo-2.0-py3-none-any.whl has no provenance"));
        // A file the lock does not record (added to the index later) is not the lock's concern.
        let only_sdist = LockedIdentities { filenames: vec![FILES[0]], ..locked };
        let later = package_findings(
            &package(&FILES),
            &provenance(vec![verified(github("o/demo")), verified(github("other/project"))], None),
            false,
            Some(&only_sdist),
        );
        assert_eq!(later, []);
    }

    #[test]
    fn only_packages_whose_every_file_verifies_are_locked_to_their_publishers() {
        let all = provenance(vec![verified(github("o/demo")); 2], None);
        assert_eq!(all.lockable_publishers(), Some(vec![github("o/demo")]));
        assert_eq!(
            provenance(vec![verified(github("o/demo")), FileProvenance::Absent], None).lockable_publishers(),
            None
        );
        assert_eq!(provenance(vec![verified(github("o/demo")), invalid()], None).lockable_publishers(), None);
        assert_eq!(provenance(Vec::new(), None).lockable_publishers(), None);
    }
}
