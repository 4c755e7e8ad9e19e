//! `hashlock generate-check FILE...`, the pre-commit hook `hashlock-generate-check`: among the
//! files a commit changes, every requirements input `DIR/NAME.in` must come with its locked
//! file `DIR/NAME.txt`, changed in the same commit (regenerated); a `.in` whose `.txt` is
//! missing, or is not among the files, fails the check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::commands::ExitStatus;
use crate::output::line::escape;

pub fn run(files: &[PathBuf]) -> anyhow::Result<ExitStatus> {
    let problems = stale(files, &|path| path.is_file());
    for problem in &problems {
        eprintln!("hashlock: {}", escape(problem));
    }
    Ok(if problems.is_empty() { ExitStatus::Success } else { ExitStatus::Findings })
}

/// One line per `.in` among `files` whose `.txt` is not among them; `exists` says whether a
/// file is there at all.
fn stale(files: &[PathBuf], exists: &dyn Fn(&Path) -> bool) -> Vec<String> {
    let changed: BTreeSet<PathBuf> = files.iter().map(|f| normal(f)).collect();
    changed
        .iter()
        .filter(|file| file.extension().is_some_and(|e| e == "in"))
        .filter_map(|input| {
            let locked = input.with_extension("txt");
            let regenerate = format!("hashlock generate -r {} -o {}", input.display(), locked.display());
            if !exists(&locked) {
                Some(format!("{} has no locked file {}: run `{regenerate}`", input.display(), locked.display()))
            } else if !changed.contains(&locked) {
                Some(format!(
                    "{} changed but {} was not regenerated: run `{regenerate}` and add it",
                    input.display(),
                    locked.display()
                ))
            } else {
                None
            }
        })
        .collect()
}

/// `./a/b.in` and `a/b.in` are one file.
fn normal(path: &Path) -> PathBuf {
    path.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(files: &[&str], existing: &[&str]) -> Vec<String> {
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        stale(&files, &|path| existing.iter().any(|e| Path::new(e) == path))
    }

    #[test]
    fn an_input_needs_its_locked_file_changed_with_it() {
        let both = ["requirements.in", "requirements.txt"];
        assert!(check(&both, &both).is_empty());
        assert!(check(&["./requirements.in", "requirements.txt"], &both).is_empty());
        assert!(check(&["requirements.txt"], &both).is_empty(), "a lock may change alone (a new hash, say)");
        assert_eq!(
            check(&["requirements.in"], &both),
            [
                "requirements.in changed but requirements.txt was not regenerated: run `hashlock generate -r requirements.in -o requirements.txt` and add it"
            ]
        );
        assert_eq!(
            check(&["dev/requirements-test.in"], &["dev/requirements-test.in"]),
            [
                "dev/requirements-test.in has no locked file dev/requirements-test.txt: run `hashlock generate -r dev/requirements-test.in -o dev/requirements-test.txt`"
            ]
        );
        assert!(
            check(&["docs/requirements.in", "requirements.txt"], &["docs/requirements.txt"])[0]
                .starts_with("docs/requirements.in changed"),
            "the .txt beside it"
        );
    }
}
