//! Which versions of a project can serve a target, and which file of a version to read
//! metadata from. Shared by the resolver and the prefetching source so both pick alike.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Bound;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use pubgrub::Ranges;

use crate::dist::{DistFile, DistFilename, FilenameParts};
use crate::index::Project;
use crate::target::Target;

/// A version with at least one file that can install on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub version: Version,
    /// Every such file is yanked (PEP 592).
    pub yanked: bool,
}

/// The versions of a project usable on a target, newest first (under unsafe-first-match, those
/// of the first index first; see [`Project::index_rank`]), each judged from its files the
/// first time it is asked for: a resolution asks of most projects a version or two, and the
/// large ones list thousands of versions, so nothing is kept per version until it is judged.
/// A file is usable when its `requires-python` admits every Python the target serves (an
/// unparseable value is ignored, as pip does) and it is an sdist or a wheel with a tag the
/// target accepts.
pub struct Candidates {
    project: Arc<Project>,
    target: Target,
    pythons: Vec<Version>,
    /// Positions in [`Project::releases`] in candidate order, when that is not newest first.
    order: Option<Vec<usize>>,
    /// The versions judged so far, by position in [`Project::releases`].
    judged: Mutex<HashMap<usize, Judgement>>,
}

/// What one pass over a version's files finds: whether it is a candidate, and which file to
/// read its metadata from (the resolver and the prefetcher both ask, each several times).
#[derive(Clone, Copy, Debug)]
struct Judgement {
    /// `Some(yanked)` for a candidate (`yanked` when every usable file is), `None` for a
    /// version with no usable file.
    candidate: Option<bool>,
    /// Where [`metadata_file`]'s choice is among the version's files, by its filename's parts.
    metadata_file: Option<usize>,
}

impl Candidates {
    pub fn new(project: Arc<Project>, target: &Target) -> Self {
        let order = project.ranks_indexes().then(|| {
            let mut order: Vec<usize> = (0..project.release_count()).rev().collect();
            // Stable: newest first within each index (unsafe-first-match ranks earlier indexes first).
            order
                .sort_by_cached_key(|&at| project.release_at(at).map_or(0, |(version, _)| project.index_rank(version)));
            order
        });
        Self { project, pythons: target.pythons(), target: target.clone(), order, judged: Mutex::default() }
    }

    /// The candidates among the versions in `range` (every one for `None`) that `keep` admits,
    /// in order; only those are judged. Newest first, the walk starts at the range's highest
    /// version, found by binary search: a pin deep in a long history looks at no newer version.
    pub fn among<'a>(
        &'a self,
        range: Option<&'a Ranges<Version>>,
        keep: impl Fn(&Version) -> bool + 'a,
    ) -> impl Iterator<Item = Candidate> + 'a {
        let positions: Box<dyn Iterator<Item = usize> + 'a> = match &self.order {
            Some(order) => Box::new(order.iter().copied()),
            None => Box::new((0..self.releases_up_to(range)).rev()),
        };
        positions.filter_map(move |at| {
            let (version, _) = self.project.release_at(at)?;
            if !(range.is_none_or(|range| range.contains(version)) && keep(version)) {
                return None;
            }
            let yanked = self.judgement(at, version).candidate?;
            Some(Candidate { version: version.clone(), yanked })
        })
    }

    /// Every candidate, in order.
    pub fn iter(&self) -> impl Iterator<Item = Candidate> + '_ {
        self.among(None, |_| true)
    }

    /// How many of the project's releases lie at or below the highest version `range` admits.
    fn releases_up_to(&self, range: Option<&Ranges<Version>>) -> usize {
        let project = &self.project;
        match range.map(Ranges::bounding_range) {
            None | Some(Some((_, Bound::Unbounded))) => project.release_count(),
            Some(None) => 0,
            Some(Some((_, Bound::Included(highest)))) => project.releases_before(highest, true),
            Some(Some((_, Bound::Excluded(highest)))) => project.releases_before(highest, false),
        }
    }

    /// [`metadata_file`] of one of these versions, from the judgement's pass over its files:
    /// only the chosen filename is parsed whole.
    pub fn metadata_file(&self, version: &Version) -> Option<(&DistFile, DistFilename)> {
        let project = &self.project;
        let found = project.release_position(version).and_then(|at| {
            let chosen = self.judgement(at, version).metadata_file?;
            let (_, release) = project.release_at(at)?;
            let file = release.files().nth(chosen)?;
            Some((file, DistFilename::parse(&file.filename, &project.name)?))
        });
        // A version it does not list, or a filename whose parts split but whose version does
        // not parse: the choice among the files that parse whole.
        found.or_else(|| metadata_file(project, version, &self.target))
    }

    /// The judgement of `version`, at `at` in [`Project::releases`], made once (two threads
    /// asking at once may both make it, alike).
    fn judgement(&self, at: usize, version: &Version) -> Judgement {
        let known = self.judged.lock().unwrap_or_else(PoisonError::into_inner).get(&at).copied();
        known.unwrap_or_else(|| {
            let made = self.judge(version);
            self.judged.lock().unwrap_or_else(PoisonError::into_inner).insert(at, made);
            made
        })
    }

    fn judge(&self, version: &Version) -> Judgement {
        // Some usable file: is one of them not yanked? A version's files mostly share one
        // `requires-python`: parse each text once.
        let mut admitted: Vec<(Cow<'_, str>, bool)> = Vec::new();
        let mut live: Option<bool> = None;
        let mut best: Option<((u8, usize), usize)> = None;
        for (at, file) in self.project.release(version).summaries().enumerate() {
            let Some((rank, installable)) = metadata_rank(&file.filename, &self.project, &self.target) else {
                continue;
            };
            if best.is_none_or(|(best, _)| rank < best) {
                best = Some((rank, at));
            }
            if !installable {
                continue;
            }
            let admits = match file.requires_python {
                None => true,
                Some(text) => match admitted.iter().find(|(seen, _)| *seen == text) {
                    Some((_, ok)) => *ok,
                    None => {
                        let ok = self.pythons.iter().all(|python| admits_python(&text, python));
                        admitted.push((text, ok));
                        ok
                    }
                },
            };
            if admits {
                *live.get_or_insert(false) |= !file.yanked;
            }
        }
        Judgement { candidate: live.map(|live| !live), metadata_file: best.map(|(_, at)| at) }
    }
}

/// Whether a file of `project` is an sdist or a wheel with a tag `target` accepts.
fn installable(filename: &str, project: &Project, target: &Target) -> bool {
    metadata_rank(filename, project, target).is_some_and(|(_, installable)| installable)
}

/// A file's rank as the one to read metadata from (lowest first, as [`metadata_file`] ranks),
/// and whether it installs on `target`; `None` for no distribution of `project`.
fn metadata_rank(filename: &str, project: &Project, target: &Target) -> Option<((u8, usize), bool)> {
    Some(match FilenameParts::split(filename, &project.name)? {
        FilenameParts::Wheel { python, abi, platform, .. } => {
            match target.joined_tags_priority(python, abi, platform) {
                Some(priority) => ((0, priority), true),
                None => ((1, 0), false),
            }
        }
        FilenameParts::Sdist { .. } => ((2, 0), true),
    })
}

/// Why `version` of `project` is not an eligible candidate on `target`, judged from the index
/// page alone: no installable file, a `requires-python` that leaves the target out, or every
/// such file yanked. `None` when it is eligible (its metadata may still exclude it).
pub fn exclusion(project: &Project, version: &Version, target: &Target) -> Option<String> {
    let pythons = target.pythons();
    let installable: Vec<_> =
        project.release(version).summaries().filter(|f| installable(&f.filename, project, target)).collect();
    let admitted: Vec<_> = installable
        .iter()
        .filter(|f| f.requires_python.as_deref().is_none_or(|text| pythons.iter().all(|p| admits_python(text, p))))
        .collect();
    if installable.is_empty() {
        Some("no file installs on the target".into())
    } else if admitted.is_empty() {
        Some(format!("requires Python {}", installable[0].requires_python.as_deref().unwrap_or_default()))
    } else if admitted.iter().all(|f| f.yanked) {
        Some("yanked".into())
    } else {
        None
    }
}

/// Whether a `requires-python` string admits `python`; unparseable strings admit everything.
pub fn admits_python(requires_python: &str, python: &Version) -> bool {
    VersionSpecifiers::from_str(requires_python).map_or(true, |specifiers| specifiers.contains(python))
}

/// The newest candidate in `range` that pip would pick without being asked for more: not
/// yanked, not a pre-release. What the source prefetches metadata for.
pub fn likely_pick(candidates: &Candidates, range: &Ranges<Version>) -> Option<Version> {
    candidates.among(Some(range), |v| !v.any_prerelease()).find(|c| !c.yanked).map(|c| c.version)
}

/// The file of `version` to read metadata from: the target's best wheel, else any wheel (the
/// dependencies are the same in almost every project), else an sdist.
pub fn metadata_file<'p>(
    project: &'p Project,
    version: &Version,
    target: &Target,
) -> Option<(&'p DistFile, DistFilename)> {
    let rank = |file: &DistFile| metadata_rank(&file.filename, project, target).map(|(rank, _)| rank);
    project.release(version).parsed().min_by_key(|(file, _)| rank(file))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dist::{CoreMetadata, HashSource};
    use crate::index::{PageFormat, ProjectPage};
    use reqwest::Url;

    /// A file as an index would list it.
    pub(crate) fn file(filename: &str, requires_python: Option<&str>, yanked: bool) -> DistFile {
        DistFile {
            filename: filename.to_string(),
            url: format!("http://127.0.0.1/files/{filename}"),
            hashes: Default::default(),
            hash_source: HashSource::None,
            requires_python: requires_python.map(str::to_string),
            yanked: yanked.then(String::new),
            core_metadata: CoreMetadata::Absent,
            size: None,
            upload_time: None,
            provenance: None,
        }
    }

    pub(crate) fn project(name: &str, files: Vec<DistFile>) -> Project {
        let name: pep508_rs::PackageName = name.parse().expect("name");
        let url = Url::parse(&format!("http://127.0.0.1/simple/{name}/")).expect("url");
        Project::from_pages(name.clone(), &[ProjectPage { name, url, format: PageFormat::Json, files }])
            .expect("small page")
    }

    fn target() -> Target {
        Target::from_options(Some("3.11"), Some("linux")).expect("target")
    }

    fn versions(candidates: &Candidates) -> Vec<String> {
        candidates.iter().map(|c| format!("{}{}", c.version, if c.yanked { " (yanked)" } else { "" })).collect()
    }

    #[test]
    fn candidates_filter_by_python_tags_and_yanking() {
        let project = project(
            "demo",
            vec![
                file("demo-4.0-py3-none-any.whl", Some(">=3.12"), false),
                file("demo-3.0-cp311-cp311-win_amd64.whl", None, false),
                file("demo-2.0-py3-none-any.whl", Some(">=3.8"), true),
                file("demo-2.0.tar.gz", Some(">=3.8"), true),
                file("demo-1.5.tar.gz", Some("not a specifier"), false),
                file("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", None, false),
                file("demo-1.0-cp311-cp311-win_amd64.whl", Some(">=3.12"), false),
                file("other-9.0-py3-none-any.whl", None, false),
            ],
        );
        let found = Candidates::new(Arc::new(project), &target());
        assert_eq!(versions(&found), ["2.0 (yanked)", "1.5", "1.0"]);
        let below = |version: &str| Ranges::strictly_lower_than(Version::from_str(version).unwrap());
        assert_eq!(likely_pick(&found, &Ranges::full()).map(|v| v.to_string()), Some("1.5".into()));
        assert_eq!(likely_pick(&found, &below("1.5")).map(|v| v.to_string()), Some("1.0".into()));
        assert_eq!(likely_pick(&found, &below("0.1")), None);
    }

    #[test]
    fn candidates_in_a_range_start_at_its_highest_version() {
        let files = (1..=40).map(|minor| file(&format!("demo-1.{minor}.tar.gz"), None, false)).collect();
        let found = Candidates::new(Arc::new(project("demo", files)), &target());
        let version = |text: &str| Version::from_str(text).unwrap();
        let listed = |range: Ranges<Version>| -> Vec<String> {
            found.among(Some(&range), |_| true).take(3).map(|c| c.version.to_string()).collect()
        };
        assert_eq!(listed(Ranges::singleton(version("1.7"))), ["1.7"]);
        assert_eq!(listed(Ranges::lower_than(version("1.30"))), ["1.30", "1.29", "1.28"], "the bound included");
        assert_eq!(listed(Ranges::strictly_lower_than(version("1.30"))), ["1.29", "1.28", "1.27"]);
        assert_eq!(listed(Ranges::between(version("1.2"), version("1.4"))), ["1.3", "1.2"]);
        assert_eq!(listed(Ranges::strictly_lower_than(version("1.35.5"))), ["1.35", "1.34", "1.33"]);
        assert_eq!(listed(Ranges::higher_than(version("1.39"))), ["1.40", "1.39"]);
        assert!(listed(Ranges::strictly_lower_than(version("1.1"))).is_empty());
        assert!(listed(Ranges::empty()).is_empty());
    }

    #[test]
    fn metadata_file_prefers_the_target_wheel() {
        let project = |name: &str, files: Vec<DistFile>| Arc::new(project(name, files));
        let demo = project(
            "demo",
            vec![
                file("demo-1.0.tar.gz", None, false),
                file("demo-1.0-cp311-cp311-win_amd64.whl", None, false),
                file("demo-1.0-py3-none-any.whl", None, false),
                file("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", None, false),
            ],
        );
        let version = Version::new([1, 0]);
        // The candidates' choice, from their one pass over the files, is the same.
        let pick = |p: &Arc<Project>| {
            let chosen = metadata_file(p, &version, &target()).map(|(f, _)| f.filename.clone());
            let candidates = Candidates::new(Arc::clone(p), &target());
            assert_eq!(candidates.metadata_file(&version).map(|(f, _)| f.filename.clone()), chosen);
            chosen
        };
        assert_eq!(pick(&demo).as_deref(), Some("demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"));
        let windows_only = project(
            "demo",
            vec![file("demo-1.0.tar.gz", None, false), file("demo-1.0-cp311-cp311-win_amd64.whl", None, false)],
        );
        assert_eq!(pick(&windows_only).as_deref(), Some("demo-1.0-cp311-cp311-win_amd64.whl"));
        let sdist_only = project("demo", vec![file("demo-1.0.tar.gz", None, false)]);
        assert_eq!(pick(&sdist_only).as_deref(), Some("demo-1.0.tar.gz"));
        assert_eq!(metadata_file(&sdist_only, &Version::new([2]), &target()).map(|(f, _)| f.filename.clone()), None);
    }
}
