//! Marker algebra for universal locks, over pep508_rs's canonical marker trees: extras
//! resolved away, the supported Python range, and the marker under which each node of a
//! dependency graph is reached.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Bound;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifier};
use pep508_rs::{
    ExtraName, ExtraOperator, MarkerExpression, MarkerOperator, MarkerTree, MarkerValueExtra, MarkerValueString,
    MarkerValueVersion,
};

/// `marker` with `extra == 'x'` decided (true for the extras in `extras`, false for every other
/// one), and `platform_system` and `os_name` tests spelled as the `sys_platform` test they are
/// equivalent to on Linux, macOS and Windows (the platforms a universal lock serves), so that
/// `platform_system == 'Windows' or sys_platform == 'win32'` is just `sys_platform == 'win32'`.
pub fn normalize(marker: &MarkerTree, extras: &[ExtraName]) -> MarkerTree {
    if marker.is_true() || marker.is_false() {
        return marker.clone();
    }
    let mut result = MarkerTree::FALSE;
    for conjunction in marker.to_dnf() {
        let mut term = MarkerTree::TRUE;
        for expression in conjunction {
            match &expression {
                MarkerExpression::Extra { operator, name } => {
                    let active = matches!(name, MarkerValueExtra::Extra(n) if extras.contains(n));
                    if active != (*operator == ExtraOperator::Equal) {
                        term = MarkerTree::FALSE;
                    }
                }
                _ => term.and(MarkerTree::expression(as_sys_platform(expression))),
            }
        }
        result.or(term);
    }
    result
}

/// `platform_system == 'Windows'` → `sys_platform == 'win32'`, `os_name == 'posix'` →
/// `sys_platform != 'win32'`, and so on; any other expression unchanged.
fn as_sys_platform(expression: MarkerExpression) -> MarkerExpression {
    let MarkerExpression::String { key, operator, value } = &expression else { return expression };
    let equal = match operator {
        MarkerOperator::Equal => true,
        MarkerOperator::NotEqual => false,
        _ => return expression,
    };
    let (platform, same) = match (key, value.as_str()) {
        (MarkerValueString::PlatformSystem, "Windows") => ("win32", true),
        (MarkerValueString::PlatformSystem, "Darwin") => ("darwin", true),
        (MarkerValueString::PlatformSystem, "Linux") => ("linux", true),
        (MarkerValueString::OsName | MarkerValueString::OsNameDeprecated, "nt") => ("win32", true),
        (MarkerValueString::OsName | MarkerValueString::OsNameDeprecated, "posix") => ("win32", false),
        _ => return expression,
    };
    MarkerExpression::String {
        key: MarkerValueString::SysPlatform,
        operator: if equal == same { MarkerOperator::Equal } else { MarkerOperator::NotEqual },
        value: platform.to_string(),
    }
}

/// `python_full_version >= 'X.Y.Z'`.
pub fn python_at_least(version: &Version) -> MarkerTree {
    python_full_version(Operator::GreaterThanEqual, version)
}

/// `python_full_version < 'X.Y.Z'`.
pub fn python_below(version: &Version) -> MarkerTree {
    python_full_version(Operator::LessThan, version)
}

fn python_full_version(operator: Operator, version: &Version) -> MarkerTree {
    let specifier = VersionSpecifier::from_version(operator, version.clone())
        .expect("< and >= take any version without a local part, as Python versions are");
    MarkerTree::expression(MarkerExpression::Version { key: MarkerValueVersion::PythonFullVersion, specifier })
}

/// `marker` simplified for a lock whose Python is at least `lowest` (bounds implied by that
/// range disappear); `None` when it is always true there.
pub fn display(marker: &MarkerTree, lowest: &Version) -> Option<String> {
    marker.clone().simplify_python_versions(Bound::Included(lowest), Bound::Unbounded).try_to_string()
}

/// `marker` as PEP 508 text, as pep508_rs writes it but with each string value written by
/// `quote` (pep508_rs always writes `'value'`, which a value holding `'` ends early); `None`
/// when it always holds.
pub fn to_string_quoted<E>(
    marker: &MarkerTree,
    quote: impl Fn(&str) -> Result<String, E>,
) -> Result<Option<String>, E> {
    if marker.is_true() {
        return Ok(None);
    }
    if marker.is_false() {
        return Ok(marker.try_to_string());
    }
    let expression = |expression: &MarkerExpression| match expression {
        // Key and operator never hold a quote, so the first `'value'` is the value.
        MarkerExpression::String { value, .. } => {
            Ok(expression.to_string().replacen(&format!("'{value}'"), &quote(value)?, 1))
        }
        _ => Ok(expression.to_string()),
    };
    let conjunctions = marker
        .to_dnf()
        .iter()
        .map(|conjunction| {
            Ok((conjunction.len(), conjunction.iter().map(expression).collect::<Result<Vec<_>, E>>()?.join(" and ")))
        })
        .collect::<Result<Vec<_>, E>>()?;
    Ok(Some(match conjunctions.as_slice() {
        [(_, only)] => only.clone(),
        many => {
            let terms: Vec<String> =
                many.iter().map(|(len, text)| if *len == 1 { text.clone() } else { format!("({text})") }).collect();
            terms.join(" or ")
        }
    }))
}

/// The marker under which each node is reached from `root` (reached under `root_marker`):
/// the disjunction over all paths of the conjunction of their edge markers, as a fixpoint
/// (cycles included). Nodes never reached are absent.
pub fn reachability<N: Clone + Eq + Hash>(
    root: &N,
    root_marker: MarkerTree,
    edges: &HashMap<N, Vec<(N, MarkerTree)>>,
) -> HashMap<N, MarkerTree> {
    let mut reached: HashMap<N, MarkerTree> = HashMap::from([(root.clone(), root_marker)]);
    let mut work = vec![root.clone()];
    while let Some(node) = work.pop() {
        let from = reached[&node].clone();
        for (child, edge) in edges.get(&node).into_iter().flatten() {
            let mut via = from.clone();
            via.and(edge.clone());
            if via.is_false() {
                continue;
            }
            let current = reached.get(child).cloned().unwrap_or(MarkerTree::FALSE);
            let mut widened = current.clone();
            widened.or(via);
            if widened != current {
                reached.insert(child.clone(), widened);
                work.push(child.clone());
            }
        }
    }
    reached
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn marker(text: &str) -> MarkerTree {
        MarkerTree::from_str(text).expect("marker")
    }

    fn extra(name: &str) -> ExtraName {
        ExtraName::from_str(name).expect("extra")
    }

    fn shown(tree: &MarkerTree) -> String {
        display(tree, &Version::new([3, 11])).unwrap_or_else(|| "true".into())
    }

    #[test]
    fn platform_tests_become_sys_platform() {
        let m = marker("platform_system == 'Windows' or sys_platform == 'win32'");
        assert_eq!(shown(&normalize(&m, &[])), "sys_platform == 'win32'");
        let m = marker("os_name == 'posix' and platform_system != 'Darwin'");
        assert_eq!(shown(&normalize(&m, &[])), "sys_platform != 'darwin' and sys_platform != 'win32'");
        let m = marker("platform_system == 'FreeBSD'");
        assert_eq!(shown(&normalize(&m, &[])), "platform_system == 'FreeBSD'");
    }

    #[test]
    fn extras_are_decided() {
        let m = marker("sys_platform == 'win32' and extra == 'tls' or extra == 'docs'");
        assert_eq!(shown(&normalize(&m, &[extra("tls")])), "sys_platform == 'win32'");
        assert_eq!(shown(&normalize(&m, &[extra("docs")])), "true");
        assert!(normalize(&m, &[]).is_false());
        assert_eq!(shown(&normalize(&marker("extra != 'x'"), &[])), "true");
        assert!(normalize(&marker("extra != 'x'"), &[extra("x")]).is_false());
    }

    #[test]
    fn display_drops_what_the_python_range_implies() {
        let mut m = python_at_least(&Version::new([3, 11]));
        m.and(marker("python_version >= '3.13'"));
        assert_eq!(shown(&m), "python_full_version >= '3.13'");
        assert_eq!(shown(&python_at_least(&Version::new([3, 11]))), "true");
        let mut old = python_at_least(&Version::new([3, 11]));
        old.and(marker("python_version < '3'"));
        assert!(old.is_false(), "a Python 2 marker cannot hold");
    }

    #[test]
    fn quoted_rendering_is_pep508_rs_rendering_with_the_values_quoted_as_asked() {
        let keep = |value: &str| Ok::<_, ()>(format!("'{value}'"));
        for text in [
            "sys_platform == 'win32'",
            "python_version >= '3.12' and platform_machine == 'x86_64' or sys_platform == 'darwin'",
            "'arm' in platform_machine and extra == 'x' or python_version < '3.9'",
            "python_version < '3' and python_version >= '3.1'",
        ] {
            let tree = marker(text);
            assert_eq!(to_string_quoted(&tree, keep), Ok(tree.try_to_string()), "{text}");
        }
        assert_eq!(to_string_quoted(&MarkerTree::TRUE, keep), Ok(None));
        let tree = marker(r#"platform_release == "x' or '1" and 'y' not in platform_version"#);
        let double = |value: &str| Ok::<_, ()>(format!("\"{value}\""));
        assert_eq!(
            to_string_quoted(&tree, double).unwrap().unwrap(),
            r#"platform_release == "x' or '1" and "y" not in platform_version"#
        );
        assert_eq!(to_string_quoted(&tree, |_| Err("no")), Err("no"));
    }

    #[test]
    fn reachability_is_the_disjunction_of_path_conjunctions() {
        // root → a (win32) → c (3.13+); root → b (always) → c (win32): c needs
        // (win32 and 3.13+) or win32 = win32; d hangs off a cycle c → d → c.
        let edges: HashMap<&str, Vec<(&str, MarkerTree)>> = HashMap::from([
            ("root", vec![("a", marker("sys_platform == 'win32'")), ("b", MarkerTree::TRUE)]),
            ("a", vec![("c", marker("python_version >= '3.13'"))]),
            ("b", vec![("c", marker("sys_platform == 'win32'")), ("gone", marker("python_version < '3.8'"))]),
            ("c", vec![("d", marker("os_name == 'nt'"))]),
            ("d", vec![("c", MarkerTree::TRUE)]),
        ]);
        let reached = reachability(&"root", python_at_least(&Version::new([3, 11])), &edges);
        assert_eq!(shown(&reached["a"]), "sys_platform == 'win32'");
        assert_eq!(shown(&reached["b"]), "true");
        assert_eq!(shown(&reached["c"]), "sys_platform == 'win32'");
        assert_eq!(shown(&reached["d"]), "os_name == 'nt' and sys_platform == 'win32'");
        assert!(!reached.contains_key("gone"), "a marker the Python range excludes is never reached");
    }
}
