//! Universal resolution: one lock for every environment of a universal [`Target`].
//!
//! Each run resolves a scope (a marker; at first "Python >= lowest") keeping every dependency
//! that can apply somewhere in it. Where requirements on one package under different markers
//! need different versions, or where a newer version of a package needs a newer Python than the
//! scope's lowest, the run asks to fork: the scope is split on those markers and each part is
//! resolved on its own, with candidates' `requires-python` checked against the part's Python
//! versions only. The runs are merged with the markers under which each pin is reached.

use pep508_rs::pep440_rs::Version;
use pep508_rs::{MarkerTree, Requirement};

use super::markers::{display, python_at_least, python_below};
use super::provider::{Failure, Scope};
use super::{Resolution, ResolveError, ResolveOptions, RootRequirement, Source, merge, solve};
use crate::target::Target;

/// More scopes than any real tree needs; a guard against a fork that never settles.
const MAX_SCOPES: usize = 64;

pub(super) fn resolve(
    source: &dyn Source,
    requirements: &[RootRequirement],
    constraints: &[Requirement],
    target: &Target,
    options: &ResolveOptions,
) -> Result<Resolution, ResolveError> {
    let lowest = target.lowest_python();
    let mut pending = vec![python_at_least(&lowest)];
    let mut runs = Vec::new();
    let mut scopes = 1;
    while let Some(scope) = pending.pop() {
        let narrowed = target.with_pythons(|python| overlaps_minor(&scope, python));
        match solve(source, requirements, constraints, &narrowed, Scope::Universal(scope.clone()), options) {
            Ok(solved) => runs.push(solved),
            Err(Failure::Fork(fork)) => {
                let parts = split(&scope, &fork.markers);
                scopes += parts.len();
                if scopes > MAX_SCOPES {
                    return Err(ResolveError::NoSolution(format!(
                        "the universal resolution forked into more than {MAX_SCOPES} environments (last on {})",
                        fork.package
                    )));
                }
                // Popped last first: resolve in the order the markers were split.
                pending.extend(parts.into_iter().rev());
            }
            Err(Failure::Resolve(ResolveError::NoSolution(why))) => {
                let environments = match display(&scope, &lowest) {
                    Some(marker) => format!("the environments where `{marker}`"),
                    None => format!("every environment ({})", target.describe()),
                };
                return Err(ResolveError::NoSolution(format!("for {environments}: {why}")));
            }
            Err(Failure::Resolve(error)) => return Err(error),
            // `solve` restarts itself.
            Err(other @ Failure::Restart(_)) => return Err(ResolveError::NoSolution(format!("unexpected: {other}"))),
        }
    }
    Ok(merge(runs, &lowest))
}

/// Whether some `python.*` release lies in `scope`.
fn overlaps_minor(scope: &MarkerTree, python: &Version) -> bool {
    let [major, minor, ..] = python.release() else { return false };
    let mut within = python_at_least(python);
    within.and(python_below(&Version::new([*major, minor + 1])));
    within.and(scope.clone());
    !within.is_false()
}

/// `scope` cut by each marker into the parts where it holds and where it does not; empty parts
/// dropped.
fn split(scope: &MarkerTree, markers: &[MarkerTree]) -> Vec<MarkerTree> {
    let mut parts = vec![scope.clone()];
    for marker in markers {
        parts = parts
            .into_iter()
            .flat_map(|part| {
                let mut inside = part.clone();
                inside.and(marker.clone());
                let mut outside = part;
                outside.and(marker.negate());
                [inside, outside]
            })
            .filter(|part| !part.is_false())
            .collect();
    }
    parts
}
