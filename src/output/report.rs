//! The report in four forms: a terminal table (text), JSON (the schema is the `Report`
//! type, documented in the README), Markdown for decision records and pull requests, and
//! SARIF for code scanning.

use std::fmt::Write;

use super::color::Paint;
use super::line;
use crate::check::findings::{Finding, Severity};
use crate::index::provenance::Publisher as Claim;
use crate::metadata::build::BuildSystem;
use crate::report::{FileReport, PackageReport, ProvenanceStatus, Report, distinct};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// `paint`: the colours of the text form (the others have none).
pub fn render(report: &Report, format: Format, paint: Paint) -> String {
    match format {
        Format::Text => text(&escaped(report, |text| line::escape(text).into_owned()), paint),
        Format::Json => json(report),
        Format::Markdown => markdown(&escaped(report, line::markdown)),
        Format::Sarif => render_all(std::slice::from_ref(report), format, paint),
    }
}

/// The reports on several files as one document: SARIF's one run, or each report after a line
/// naming its file.
pub fn render_all(reports: &[Report], format: Format, paint: Paint) -> String {
    match (format, reports) {
        (Format::Sarif, _) => super::sarif::render(reports, &std::env::current_dir().unwrap_or_default()),
        (_, [report]) => render(report, format, paint),
        _ => {
            let named = |report: &Report| {
                let file = report.file.as_deref().map(|f| f.display().to_string()).unwrap_or_default();
                match format {
                    Format::Markdown => format!("# {}\n\n", line::markdown(&file)),
                    _ => format!("==> {} <==\n", line::escape(&file)),
                }
            };
            let parts: Vec<String> = reports.iter().map(|r| named(r) + &render(r, format, paint)).collect();
            parts.join("\n")
        }
    }
}

/// `report` with every text in it (names, versions, filenames, paths, messages: much of it from
/// an index or a file) passed through `escape`, so that no text can drive a terminal, end a
/// line or break out of its Markdown cell and show something the report does not say. JSON
/// needs none of this: serde escapes every string.
fn escaped(report: &Report, escape: impl Fn(&str) -> String) -> Report {
    let all = |texts: &[String]| texts.iter().map(|t| escape(t)).collect::<Vec<_>>();
    let finding = |f: &Finding| Finding {
        package: f.package.as_deref().map(&escape),
        location: f.location.as_deref().map(&escape),
        message: escape(&f.message),
        ..f.clone()
    };
    let findings = |findings: &[Finding]| findings.iter().map(finding).collect::<Vec<_>>();
    Report {
        tool: escape(&report.tool),
        target: escape(&report.target),
        indexes: all(&report.indexes),
        packages: report
            .packages
            .iter()
            .map(|p| PackageReport {
                name: escape(&p.name),
                version: escape(&p.version),
                required_by: all(&p.required_by),
                algorithms: all(&p.algorithms),
                files: p.files.iter().map(|f| FileReport { filename: escape(&f.filename), ..f.clone() }).collect(),
                publishers: p.publishers.iter().map(|c| Claim { kind: escape(&c.kind), ..c.clone() }).collect(),
                build: p
                    .build
                    .as_ref()
                    .map(|b| BuildSystem { backend: escape(&b.backend), requires: all(&b.requires) }),
                findings: findings(&p.findings),
                ..p.clone()
            })
            .collect(),
        findings: findings(&report.findings),
        ..report.clone()
    }
}

fn json(report: &Report) -> String {
    // Serialising plain data to a String cannot fail.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}

fn files_cell(package: &PackageReport) -> String {
    let wheels = package.files.iter().filter(|f| f.kind == "wheel").count();
    let sdists = package.files.iter().filter(|f| f.kind == "sdist").count();
    format!("{} ({wheels}w/{sdists}s)", package.files.len())
}

/// The algorithms published, or `none` when no file has a hash.
fn hashes_cell(package: &PackageReport, separator: &str) -> String {
    if package.algorithms.is_empty() { "none".into() } else { package.algorithms.join(separator) }
}

fn target_cell(package: &PackageReport) -> &'static str {
    match package.target_file {
        crate::check::findings::TargetFile::Wheel => "wheel",
        crate::check::findings::TargetFile::SdistOnly => "sdist (build)",
        crate::check::findings::TargetFile::None => "none",
    }
}

/// How many files have verified provenance, and by which kinds of publisher: `2/2 GitHub`,
/// `1/3 GitHub (1 invalid)`, `none`; `-` where provenance was not checked.
fn provenance_cell(package: &PackageReport) -> String {
    let statuses: Vec<ProvenanceStatus> =
        package.files.iter().filter_map(|f| f.provenance.as_ref().map(|p| p.status)).collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    let (verified, invalid) = (count(ProvenanceStatus::Verified), count(ProvenanceStatus::Invalid));
    if statuses.is_empty() {
        return "-".into();
    }
    let mut cell = match verified + invalid {
        0 => "none".to_string(),
        _ => format!("{verified}/{}", package.files.len()),
    };
    if !package.publishers.is_empty() {
        let kinds = distinct(package.publishers.iter().map(|p| p.kind.as_str()));
        cell.push(' ');
        cell.push_str(&kinds.join("+"));
    }
    if invalid > 0 {
        cell.push_str(&format!(" ({invalid} invalid)"));
    }
    cell
}

fn sources_cell(package: &PackageReport) -> String {
    let names: Vec<&str> = package
        .hash_sources
        .iter()
        .map(|source| match source {
            crate::dist::HashSource::JsonPage => "json",
            crate::dist::HashSource::HtmlFragment => "html",
            crate::dist::HashSource::None => "none",
            crate::dist::HashSource::Computed => "computed",
        })
        .collect();
    names.join(",")
}

/// One line per sdist-only package whose build system is known: its backend and requirements.
/// One line per sdist-only package: its build backend and build requirements.
fn builds(report: &Report) -> Vec<String> {
    let built = report.packages.iter().filter_map(|p| p.build.as_ref().map(|build| (p, build)));
    built
        .map(|(p, build)| {
            let requires = if build.requires.is_empty() { "nothing".into() } else { build.requires.join(", ") };
            format!("{} {}: backend {}, requires {requires}", p.name, p.version, build.backend)
        })
        .collect()
}

fn verdict(report: &Report) -> String {
    let s = &report.summary;
    let errors = |provenance: bool| -> Vec<&Finding> {
        report
            .all_findings()
            .filter(|f| f.severity == Severity::Error && f.code.is_provenance() == provenance)
            .collect()
    };
    let provenance_errors = errors(true);
    let provenance = match provenance_errors.len() {
        0 => String::new(),
        n => format!(" Provenance: {n} error finding(s): {}.", by_package(&provenance_errors)),
    };
    if s.require_hashes_feasible && report.packages.is_empty() {
        // A report of findings alone (verify): nothing was resolved to count.
        return match s.warnings + s.infos {
            0 => "All clear: no findings.".into(),
            n => format!("No errors; {n} finding(s) to look at."),
        };
    }
    if s.require_hashes_feasible {
        return format!(
            "Feasible: all {} packages can be installed with pip --require-hashes today ({} of {} files have sha256).{provenance}",
            s.packages, s.files_with_sha256, s.files
        );
    }
    let blockers = errors(false);
    format!(
        "Not feasible yet: {} error finding(s) stand in the way of pip --require-hashes: {}.{provenance}",
        blockers.len(),
        by_package(&blockers)
    )
}

/// Each package (or the file itself) with its finding codes: `lib (hash-mismatch); (file) (unpinned)`.
fn by_package(findings: &[&Finding]) -> String {
    let who = |f: &Finding| f.package.clone().unwrap_or_else(|| "(file)".into());
    let named: Vec<String> = distinct(findings.iter().map(|f| who(f)))
        .into_iter()
        .map(|name| {
            let codes = distinct(findings.iter().filter(|f| who(f) == name).map(|f| f.code.to_string()));
            format!("{name} ({})", codes.join(", "))
        })
        .collect();
    named.join("; ")
}

fn title(report: &Report) -> String {
    if report.packages.is_empty() {
        report.target.clone()
    } else {
        format!("{} packages for {}", report.summary.packages, report.target)
    }
}

fn by_severity(report: &Report) -> Vec<(Severity, Vec<&Finding>)> {
    [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .map(|severity| (severity, report.all_findings().filter(|f| f.severity == severity).collect::<Vec<_>>()))
        .filter(|(_, findings)| !findings.is_empty())
        .collect()
}

fn text(report: &Report, paint: Paint) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Hash report: {}", title(report));
    let rows: Vec<[String; 8]> = report
        .packages
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.version.clone(),
                files_cell(p),
                hashes_cell(p, ","),
                sources_cell(p),
                target_cell(p).to_string(),
                provenance_cell(p),
                if p.findings.is_empty() {
                    "-".into()
                } else {
                    p.findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>().join(",")
                },
            ]
        })
        .collect();
    let headings = ["PACKAGE", "VERSION", "FILES", "HASHES", "SOURCE", "TARGET", "PROVENANCE", "FINDINGS"];
    let widths: Vec<usize> = (0..headings.len())
        .map(|i| rows.iter().map(|r| r[i].len()).chain([headings[i].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:w$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    if !rows.is_empty() {
        let _ = writeln!(out, "\n{}", line(&headings));
    }
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let _ = writeln!(out, "{}", line(&cells));
    }
    let builds = builds(report);
    if !builds.is_empty() {
        let _ = writeln!(out, "\nBuilds (sdist-only packages: what pip builds them with):");
        for line in &builds {
            let _ = writeln!(out, "  {line}");
        }
        out.push('\n');
    }
    for (severity, findings) in by_severity(report) {
        let heading = paint.severity(severity, &severity.to_string().to_uppercase());
        let _ = writeln!(out, "\n{heading} ({}):", findings.len());
        for finding in findings {
            let location = finding.location.as_deref().map(|l| format!("{l}: ")).unwrap_or_default();
            let code = paint.severity(severity, &format!("[{}]", finding.code));
            let _ = writeln!(out, "  {location}{code} {}", finding.message);
        }
    }
    let s = &report.summary;
    if !report.packages.is_empty() {
        let _ = writeln!(
            out,
            "\nSummary: {} packages, {} files ({} wheels, {} sdists); {} with sha256, {} without any hash, {} with weak hashes only; {} with verified provenance; {} yanked, {} sdist-only.",
            s.packages,
            s.files,
            s.wheels,
            s.sdists,
            s.files_with_sha256,
            s.files_without_hash,
            s.weak_only_files,
            s.files_with_verified_provenance,
            s.yanked,
            s.sdist_only
        );
    } else {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", paint.verdict(report.summary.require_hashes_feasible, &verdict(report)));
    out
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Hash report: {}\n", title(report));
    let _ = writeln!(out, "**Verdict.** {}\n", verdict(report));
    match report.indexes.is_empty() {
        true => writeln!(out, "Generated by {}.\n", report.tool),
        false => writeln!(out, "Generated by {} from {}.\n", report.tool, report.indexes.join(", ")),
    }
    .unwrap_or_default();
    if !report.packages.is_empty() {
        package_tables(&mut out, report);
    }
    let groups = by_severity(report);
    let _ = writeln!(out, "## Findings\n");
    if groups.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for (severity, findings) in groups {
        let _ = writeln!(out, "### {} ({})\n", severity.to_string().to_uppercase(), findings.len());
        for finding in findings {
            let location = finding.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            let _ = writeln!(out, "- `{}`{location}: {}", finding.code, finding.message);
        }
        out.push('\n');
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out.push('\n');
    out
}

/// The counts and the per-package table.
fn package_tables(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(out, "| | count |\n| --- | ---: |");
    for (label, value) in [
        ("packages", s.packages),
        ("files (all platforms)", s.files),
        ("wheels", s.wheels),
        ("sdists", s.sdists),
        ("files with sha256", s.files_with_sha256),
        ("files without any hash", s.files_without_hash),
        ("files with weak hashes only (md5/sha1)", s.weak_only_files),
        ("files with verified provenance", s.files_with_verified_provenance),
        ("yanked pins", s.yanked),
        ("sdist-only for the target", s.sdist_only),
        ("packages with findings", s.packages_with_findings),
    ] {
        let _ = writeln!(out, "| {label} | {value} |");
    }
    let _ = writeln!(
        out,
        "\n## Packages\n\n| package | version | files | hashes | source | target gets | provenance | findings |\n| --- | --- | ---: | --- | --- | --- | --- | --- |"
    );
    for p in &report.packages {
        let findings = if p.findings.is_empty() {
            "none".into()
        } else {
            p.findings.iter().map(|f| format!("`{}`", f.code)).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            p.name,
            p.version,
            files_cell(p),
            hashes_cell(p, ", "),
            sources_cell(p),
            target_cell(p),
            provenance_cell(p),
            findings
        );
    }
    let builds = builds(report);
    if !builds.is_empty() {
        let _ = writeln!(out, "\n## Builds\n\nWhat pip builds each sdist-only package with:\n");
        for line in &builds {
            let _ = writeln!(out, "- {line}");
        }
    }
    out.push('\n');
}
