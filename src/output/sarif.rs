//! SARIF 2.1.0, for code scanning: one rule per finding code, one result per finding, located
//! at its file and line relative to the working directory (`%SRCROOT%`), with a fingerprint
//! that survives lines moving, so that an alert is tracked across commits.

use std::path::{Component, Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::check::findings::{Code, Finding, Severity};
use crate::check::installed::normalize;
use crate::report::Report;

const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One run with the results of every report (one per lockfile audited). `cwd`: what locations
/// are made relative to (the repository root, in CI).
pub fn render(reports: &[Report], cwd: &Path) -> String {
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|report| {
            // Code scanning refuses a whole upload if one result has no line: the rest go on line 1.
            let fallback = report.file.as_deref().map(|file| (file.display().to_string(), Some(1)));
            report.all_findings().map(move |finding| {
                let located = finding.location.as_deref().map(split_location).or_else(|| fallback.clone());
                result(finding, located, cwd)
            })
        })
        .collect();
    let document = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hashlock",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": Code::ALL.iter().map(|code| rule(*code)).collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    // Serialising plain data to a String cannot fail.
    let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
    out.push('\n');
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(code: Code) -> Value {
    let (description, help) = code.explain();
    // Code scanning ranks security alerts by this score: high, medium, low.
    let score = match code.severity() {
        Severity::Error => "7.5",
        Severity::Warning => "5.0",
        Severity::Info => "2.0",
    };
    json!({
        "id": code.as_str(),
        "name": code.as_str().split('-').map(capitalised).collect::<String>(),
        "shortDescription": {"text": description},
        "fullDescription": {"text": description},
        "help": {"text": help, "markdown": help},
        "defaultConfiguration": {"level": level(code.severity())},
        "properties": {"tags": ["security", "supply-chain"], "security-severity": score},
    })
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `file:line` → (file, line); a location without a line is all file.
fn split_location(location: &str) -> (String, Option<usize>) {
    match location.rsplit_once(':') {
        Some((file, line)) if !file.is_empty() => match line.parse::<usize>() {
            Ok(line) if line > 0 => (file.to_string(), Some(line)),
            _ => (location.to_string(), None),
        },
        _ => (location.to_string(), None),
    }
}

fn result(finding: &Finding, located: Option<(String, Option<usize>)>, cwd: &Path) -> Value {
    let index = Code::ALL.iter().position(|code| *code == finding.code).unwrap_or_default();
    let mut result = json!({
        "ruleId": finding.code.as_str(),
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": {"text": finding.message},
    });
    let mut uri = String::new();
    if let Some((file, line)) = located {
        let mut artifact = json!({});
        match relative(Path::new(&file), cwd) {
            Some(path) => {
                uri = encode(&path);
                artifact["uri"] = json!(uri);
                artifact["uriBaseId"] = json!("%SRCROOT%");
            }
            None => {
                uri = format!("file://{}", encode(&absolute(Path::new(&file), cwd)));
                artifact["uri"] = json!(uri);
            }
        }
        let mut physical = json!({"artifactLocation": artifact});
        if let Some(line) = line {
            physical["region"] = json!({"startLine": line});
        }
        result["locations"] = json!([{"physicalLocation": physical}]);
    }
    result["partialFingerprints"] = json!({"hashlock/v1": fingerprint(finding, &uri)});
    if let Some(package) = &finding.package {
        result["properties"] = json!({"package": package});
    }
    result
}

/// Code, package, file and message, with the line numbers a message may quote taken out: the
/// same finding about the same thing keeps its fingerprint when lines above it come and go.
fn fingerprint(finding: &Finding, uri: &str) -> String {
    let mut hasher = Sha256::new();
    for part in
        [finding.code.as_str(), finding.package.as_deref().unwrap_or_default(), uri, &without_lines(&finding.message)]
    {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// `… (line 12)` → `… (line)`.
fn without_lines(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + "line".len());
        out.push_str(before);
        let digits = after[1..].find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len() - 1);
        rest = if digits > 0 { &after[1 + digits..] } else { after };
    }
    out.push_str(rest);
    out
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved as written (not through links).
fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    normalize(&cwd.join(path))
}

/// `path` relative to `cwd`, when it lies below it.
fn relative(path: &Path, cwd: &Path) -> Option<PathBuf> {
    absolute(path, cwd).strip_prefix(absolute(cwd, Path::new("/"))).ok().map(Path::to_path_buf)
}

/// A path as a URI reference: `/`-separated, every byte but the unreserved ones percent-encoded.
fn encode(path: &Path) -> String {
    let segments: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .map(|part| {
            part.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect()
        })
        .collect();
    let joined = segments.join("/");
    if path.has_root() { format!("/{joined}") } else { joined }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    /// One finding of every code, located as audit locates them (and one without a location).
    fn every_code() -> Report {
        let findings: Vec<Finding> = Code::ALL
            .iter()
            .enumerate()
            .map(|(i, code)| {
                let finding = Finding {
                    severity: code.severity(),
                    code: *code,
                    package: Some(format!("pkg{i}")),
                    location: None,
                    message: format!("{}: {}", code.as_str(), code.explain().0),
                };
                if *code == Code::MixedAlgorithms { finding } else { finding.at(format!("requirements.txt:{}", i + 1)) }
            })
            .collect();
        Report::of_findings(&findings, "test".into(), Vec::new()).about_file(Path::new("requirements.txt"))
    }

    #[test]
    fn every_finding_code_is_a_rule_and_a_located_result() {
        let text = render(&[every_code()], Path::new("/repo"));
        let sarif: Value = serde_json::from_str(&text).unwrap();
        let run = &sarif["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), Code::ALL.len());
        for result in run["results"].as_array().unwrap() {
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], result["ruleId"], "ruleIndex points at the result's rule");
            let location = &result["locations"][0]["physicalLocation"];
            assert_eq!(location["artifactLocation"]["uri"], "requirements.txt", "every result has a file");
        }
        insta::assert_snapshot!("every_code", text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]"));
    }

    #[test]
    fn locations_are_relative_to_the_working_directory() {
        let cwd = Path::new("/work/repo");
        let uri = |path: &str| {
            let (file, _) = split_location(path);
            relative(Path::new(&file), cwd).map(|p| encode(&p))
        };
        assert_eq!(uri("requirements.txt:3").as_deref(), Some("requirements.txt"));
        assert_eq!(uri("./sub/../deps/uv.lock:10").as_deref(), Some("deps/uv.lock"));
        assert_eq!(uri("/work/repo/a b/poetry.lock:1").as_deref(), Some("a%20b/poetry.lock"));
        assert_eq!(uri("../elsewhere/uv.lock:1"), None, "outside the working directory");
        assert_eq!(split_location("C:\\x\\uv.lock:12"), ("C:\\x\\uv.lock".into(), Some(12)));
        assert_eq!(split_location("requirements.txt"), ("requirements.txt".into(), None));
    }

    #[test]
    fn fingerprints_ignore_line_numbers_but_not_the_subject() {
        let finding = |line: usize, message: &str| {
            Finding::new(Code::OrphanedHash, None, message).at(format!("requirements.txt:{line}"))
        };
        let print = |f: &Finding| fingerprint(f, "requirements.txt");
        let moved = print(&finding(30, "--hash=sha256:ab… is cut off from `a==1` (line 29)"));
        assert_eq!(print(&finding(3, "--hash=sha256:ab… is cut off from `a==1` (line 2)")), moved);
        assert_ne!(print(&finding(3, "--hash=sha256:cd… is cut off from `a==1` (line 2)")), moved);
        assert_ne!(fingerprint(&finding(3, "--hash=sha256:ab… is cut off from `a==1` (line 2)"), "other.txt"), moved);
        assert_eq!(without_lines("line 12, line x, lines 3, online 4"), "line, line x, lines 3, online");
    }
}
