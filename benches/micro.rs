//! Micro-benchmarks of the CPU-bound parts: project pages (JSON and HTML, thousands of files),
//! core metadata, marker evaluation, and resolving the recorded dds-cli tree in memory (no
//! network: what is left is hashlock's own work on the critical path).
//!
//! `cargo bench --bench micro`

use std::collections::HashMap;
use std::io::Read;
use std::str::FromStr;
use std::sync::Arc;

use hashlock::dist::{CoreMetadata, DistFile, DistFilename, HashSource};
use hashlock::index::simple::{PageFormat, ProjectPage, parse_page};
use hashlock::index::{IndexError, Project};
use hashlock::metadata::{Metadata, MetadataError};
use hashlock::resolve::{ResolveOptions, RootRequirement, Source, resolve};
use hashlock::target::Target;
use pep508_rs::pep440_rs::Version;
use pep508_rs::{PackageName, Requirement};
use reqwest::Url;

fn main() {
    divan::main();
}

const PAGE_FILES: usize = 5000;

fn filename(i: usize) -> String {
    format!("big_project-{}.{}.{}-cp311-cp311-manylinux_2_17_x86_64.whl", i / 100, (i / 10) % 10, i % 10)
}

fn json_page() -> Vec<u8> {
    let files: Vec<serde_json::Value> = (0..PAGE_FILES)
        .map(|i| {
            serde_json::json!({
                "filename": filename(i),
                "url": format!("../../files/{}", filename(i)),
                "hashes": {"sha256": format!("{i:064x}")},
                "requires-python": ">=3.8",
                "yanked": i % 97 == 0,
                "core-metadata": {"sha256": format!("{:064x}", i + 1)},
                "size": 123_456,
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"meta": {"api-version": "1.1"}, "name": "big-project", "files": files}))
        .expect("serialisable")
}

fn html_page() -> Vec<u8> {
    let mut html = String::from("<!DOCTYPE html><html><body><h1>Links for big-project</h1>\n");
    for i in 0..PAGE_FILES {
        html.push_str(&format!(
            "<a href=\"../../files/{0}#sha256={1:064x}\" data-requires-python=\"&gt;=3.8\" \
             data-dist-info-metadata=\"sha256={2:064x}\">{0}</a><br/>\n",
            filename(i),
            i,
            i + 1
        ));
    }
    html.push_str("</body></html>\n");
    html.into_bytes()
}

fn page_url() -> Url {
    Url::parse("http://127.0.0.1:8080/simple/big-project/").expect("valid")
}

#[divan::bench]
fn parse_json_page_5000_files(bencher: divan::Bencher) {
    let (name, url, body) = (PackageName::from_str("big-project").expect("valid"), page_url(), json_page());
    bencher.bench(|| parse_page(&name, &url, Some("application/vnd.pypi.simple.v1+json"), divan::black_box(&body)));
}

#[divan::bench]
fn parse_html_page_5000_files(bencher: divan::Bencher) {
    let (name, url, body) = (PackageName::from_str("big-project").expect("valid"), page_url(), html_page());
    bencher.bench(|| parse_page(&name, &url, Some("text/html"), divan::black_box(&body)));
}

fn metadata_text() -> String {
    let mut text = String::from("Metadata-Version: 2.1\nName: big-project\nVersion: 1.2.3\nRequires-Python: >=3.8\n");
    for i in 0..60 {
        text.push_str(&format!(
            "Requires-Dist: dep-{i}[extra]>=1.{i},<3 ; python_version >= \"3.8\" and sys_platform != \"win32\"\n"
        ));
    }
    text.push_str("Provides-Extra: test\nDescription-Content-Type: text/markdown\n\n");
    text.push_str(&"A long description.\n".repeat(2000));
    text
}

#[divan::bench]
fn parse_metadata_60_requirements(bencher: divan::Bencher) {
    let text = metadata_text();
    bencher.bench(|| Metadata::parse(divan::black_box(text.as_bytes()), "big_project-1.2.3.whl"));
}

#[divan::bench]
fn evaluate_markers_1000_requirements(bencher: divan::Bencher) {
    let requirements: Vec<Requirement> = (0..1000)
        .map(|i| {
            Requirement::from_str(&format!(
                "dep-{i}>=1 ; (python_version >= \"3.{}\" and sys_platform == \"linux\") or extra == \"test\"",
                i % 14
            ))
            .expect("valid")
        })
        .collect();
    let environment = target().marker_environment();
    bencher.bench(|| requirements.iter().filter(|r| r.evaluate_markers(&environment, &[])).count());
}

fn target() -> Target {
    Target::from_options(Some("3.11"), Some("linux")).expect("valid target")
}

/// The recorded dds-cli tree (`tests/fixtures/dds-cli.json.gz`) as an in-memory [`Source`].
struct RecordedSource {
    projects: HashMap<PackageName, Arc<Project>>,
    metadata: HashMap<String, Arc<Metadata>>,
}

impl RecordedSource {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/dds-cli.json.gz");
        let mut json = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).expect("recorded fixture"))
            .read_to_string(&mut json)
            .expect("gzip");
        let recorded: serde_json::Value = serde_json::from_str(&json).expect("json");
        let (mut projects, mut metadata) = (HashMap::new(), HashMap::new());
        for (name, files) in recorded["projects"].as_object().expect("projects") {
            let name = PackageName::from_str(name).expect("name");
            let url = Url::parse(&format!("http://127.0.0.1/simple/{name}/")).expect("url");
            let files = files.as_array().expect("files").iter().map(|file| {
                let filename = file["filename"].as_str().expect("filename").to_string();
                if let Some(text) = file["metadata"].as_str() {
                    let parsed = Metadata::parse(text.as_bytes(), &filename).expect("metadata");
                    metadata.insert(filename.clone(), Arc::new(parsed));
                }
                DistFile {
                    url: format!("http://127.0.0.1/files/{filename}"),
                    hashes: file["hashes"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(algorithm, hex)| Some((algorithm.clone(), hex.as_str()?.to_string())))
                        .collect(),
                    hash_source: HashSource::JsonPage,
                    requires_python: file["requires_python"].as_str().map(str::to_string),
                    yanked: file["yanked"].as_bool().filter(|y| *y).map(|_| String::new()),
                    core_metadata: CoreMetadata::Absent,
                    size: file["size"].as_u64(),
                    upload_time: None,
                    provenance: None,
                    filename,
                }
            });
            let page =
                ProjectPage { name: name.clone(), url: url.clone(), format: PageFormat::Json, files: files.collect() };
            projects.insert(name.clone(), Arc::new(Project::from_pages(name, &[page]).expect("a page under 4 GiB")));
        }
        Self { projects, metadata }
    }
}

impl Source for RecordedSource {
    fn project(&self, name: &PackageName) -> Result<Arc<Project>, IndexError> {
        self.projects
            .get(name)
            .cloned()
            .ok_or_else(|| IndexError::NotFound { name: name.clone(), indexes: "the recording".into() })
    }

    fn metadata(&self, project: &Project, version: &Version) -> Result<Arc<Metadata>, MetadataError> {
        project
            .files()
            .filter(|f| DistFilename::parse(&f.filename, &project.name).is_some_and(|p| p.version() == version))
            .find_map(|f| self.metadata.get(&f.filename).cloned())
            .ok_or_else(|| MetadataError::Invalid {
                filename: format!("{} {version}", project.name),
                message: "not recorded".into(),
            })
    }
}

#[divan::bench(sample_count = 20)]
fn resolve_recorded_dds_cli(bencher: divan::Bencher) {
    let source = RecordedSource::load();
    let root =
        [RootRequirement { requirement: Requirement::from_str("dds-cli").expect("valid"), origin: String::new() }];
    let target = target();
    bencher.bench(|| {
        let resolution = resolve(&source, &root, &[], &target, &ResolveOptions::default()).expect("resolves");
        assert_eq!(resolution.packages.len(), 36);
    });
}
