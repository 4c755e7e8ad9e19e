//! The loopback index the other tests rely on: content negotiation, PEP 658 files, range
//! requests, the failure switches, tampering, request counts, and the recorded-fixture loader.
//! (pip itself judges the server and the built wheels in `pip_judge.rs`.)

mod support;

use std::io::{Read, Write};

use reqwest::blocking::{Client, Response};
use serde_json::Value;
use support::{Fail, File, IndexServer, JSON_TYPE, Published, Registry, Release, build, sha256_hex};

const PIP_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

fn tree() -> Registry {
    Registry::new().with([
        Release::new("Foo_Bar", "1.0").requires(&["baz>=1"]).requires_python(">=3.8").with_sdist(),
        Release::new("Foo_Bar", "2.0").yanked("broken build"),
        Release::new("baz", "1.0").payload(50_000),
    ])
}

fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn json(response: Response) -> Value {
    serde_json::from_slice(&response.bytes().unwrap()).unwrap()
}

fn content_type(response: &Response) -> String {
    response.headers()["content-type"].to_str().unwrap().to_string()
}

#[test]
fn serves_json_when_accepted_with_real_hashes_and_metadata_files() {
    let registry = tree();
    let server = IndexServer::start(registry.clone());
    let response = get(&format!("{}/foo-bar/", server.index_url()), &[("Accept", PIP_ACCEPT)]);
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), JSON_TYPE);
    let page: Value = json(response);
    assert_eq!(page["name"], "foo-bar");
    assert_eq!(page["versions"], serde_json::json!(["1.0", "2.0"]));
    let files = page["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "1.0 wheel and sdist, 2.0 wheel: {page:#}");

    let wheel = &files[0];
    assert_eq!(wheel["filename"], "foo_bar-1.0-py3-none-any.whl");
    assert_eq!(wheel["requires-python"], ">=3.8");
    assert_eq!(wheel["yanked"], false);
    let bytes = get(wheel["url"].as_str().unwrap(), &[]).bytes().unwrap();
    assert_eq!(wheel["hashes"]["sha256"], sha256_hex(&bytes));
    assert_eq!(wheel["size"], bytes.len());
    let metadata = get(&format!("{}.metadata", wheel["url"].as_str().unwrap()), &[]).bytes().unwrap();
    assert_eq!(wheel["core-metadata"]["sha256"], sha256_hex(&metadata));
    assert_eq!(wheel["dist-info-metadata"], wheel["core-metadata"]);
    let metadata = String::from_utf8(metadata.to_vec()).unwrap();
    assert!(metadata.contains("Name: Foo_Bar\nVersion: 1.0\n"), "{metadata}");
    assert!(metadata.contains("Requires-Dist: baz>=1\n"), "{metadata}");

    let sdist = &files[1];
    assert_eq!(sdist["filename"], "foo_bar-1.0.tar.gz");
    assert!(sdist.get("core-metadata").is_none(), "sdists advertise no metadata file");
    assert_eq!(files[2]["yanked"], "broken build");

    // Names are normalised; unknown projects are 404.
    assert_eq!(get(&format!("{}/FOO.bar", server.index_url()), &[("Accept", PIP_ACCEPT)]).status(), 200);
    assert_eq!(get(&format!("{}/nope/", server.index_url()), &[("Accept", PIP_ACCEPT)]).status(), 404);
    assert_eq!(get(&server.file_url("nope-1.0.tar.gz"), &[]).status(), 404);
}

#[test]
fn serves_html_with_fragments_and_escaped_attributes() {
    let server = IndexServer::start(tree());
    for accept in ["text/html", "*/*", "application/vnd.pypi.simple.v1+json; q=0, text/html"] {
        let response = get(&format!("{}/foo-bar/", server.index_url()), &[("Accept", accept)]);
        assert_eq!(content_type(&response), "application/vnd.pypi.simple.v1+html", "Accept: {accept}");
        let html = response.text().unwrap();
        let sha = server.registry().file("foo_bar-1.0-py3-none-any.whl").unwrap().hashes["sha256"].clone();
        assert!(html.contains(&format!("href=\"../../files/foo_bar-1.0-py3-none-any.whl#sha256={sha}\"")), "{html}");
        assert!(html.contains("data-requires-python=\"&gt;=3.8\""), "{html}");
        assert!(html.contains("data-yanked=\"broken build\""), "{html}");
        assert!(html.contains("data-core-metadata=\"sha256="), "{html}");
        assert!(html.contains("data-dist-info-metadata=\"sha256="), "{html}");
    }

    server.set_json(false);
    let response = get(&format!("{}/foo-bar/", server.index_url()), &[("Accept", PIP_ACCEPT)]);
    assert_eq!(content_type(&response), "text/html", "JSON off: HTML even when JSON is preferred");
    assert!(response.text().unwrap().contains("<a href=\"../../files/foo_bar-1.0.tar.gz#sha256="));

    server.set_pep658(false);
    let html = get(&format!("{}/foo-bar/", server.index_url()), &[]).text().unwrap();
    assert!(!html.contains("metadata"), "{html}");
    assert_eq!(get(&format!("{}.metadata", server.file_url("foo_bar-1.0-py3-none-any.whl")), &[]).status(), 404);
}

#[test]
fn answers_range_requests_and_can_refuse_them() {
    let server = IndexServer::start(tree());
    let url = server.file_url("baz-1.0-py3-none-any.whl");
    let whole = get(&url, &[]).bytes().unwrap().to_vec();
    let len = whole.len();
    assert!(len > 50_000);

    let cases = [
        ("bytes=0-9", 0, 9),
        ("bytes=-32768", len - 32768, len - 1),
        (&*format!("bytes={}-", len - 5), len - 5, len - 1),
        ("bytes=10-99999999", 10, len - 1),
        ("bytes=-99999999", 0, len - 1),
    ];
    for (range, start, end) in cases {
        let response = get(&url, &[("Range", range)]);
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(response.headers()["content-range"], format!("bytes {start}-{end}/{len}").as_str(), "{range}");
        assert_eq!(response.bytes().unwrap().as_ref(), &whole[start..=end], "{range}");
    }
    for range in [format!("bytes={len}-"), "bytes=-0".to_string(), format!("bytes={len}-{}", len + 10)] {
        let response = get(&url, &[("Range", &range)]);
        assert_eq!(response.status(), 416, "{range}");
        assert_eq!(response.headers()["content-range"], format!("bytes */{len}").as_str());
    }

    server.set_range(false);
    let response = get(&url, &[("Range", "bytes=-100")]);
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().unwrap().len(), len);

    let ranged: Vec<_> = server.log().into_iter().filter(|l| l.range.is_some()).collect();
    assert_eq!(ranged.len(), 9);
    assert_eq!(server.requests("/files/baz-1.0-py3-none-any.whl"), 10);
    assert_eq!(ranged.last().unwrap().status, 200);
}

#[test]
fn fails_on_demand_and_recovers() {
    let server = IndexServer::start(tree());
    let page = format!("{}/baz/", server.index_url());
    server.set_fail(Some(Fail::ServerError));
    let response = get(&page, &[("Accept", PIP_ACCEPT)]);
    assert_eq!(response.status(), 500);
    assert_eq!(content_type(&response), "text/html");
    assert!(response.text().unwrap().contains("Internal Server Error"));

    server.set_fail(Some(Fail::GarbageJson));
    let response = get(&page, &[("Accept", PIP_ACCEPT)]);
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), JSON_TYPE);
    assert!(serde_json::from_slice::<Value>(&response.bytes().unwrap()).is_err());

    server.set_fail(None);
    assert_eq!(get(&page, &[("Accept", PIP_ACCEPT)]).status(), 200);
    assert_eq!(server.requests("/simple/baz/"), 3);
}

#[test]
fn tampering_keeps_the_published_hash_and_uploads_appear() {
    let server = IndexServer::start(tree());
    let filename = "baz-1.0-py3-none-any.whl";
    let published = server.registry().file(filename).unwrap().hashes["sha256"].clone();
    assert_eq!(sha256_hex(&get(&server.file_url(filename), &[]).bytes().unwrap()), published);
    server.tamper(filename);
    let served = get(&server.file_url(filename), &[]).bytes().unwrap();
    assert_ne!(sha256_hex(&served), published);
    let page: Value = json(get(&format!("{}/baz/", server.index_url()), &[("Accept", PIP_ACCEPT)]));
    assert_eq!(page["files"][0]["hashes"]["sha256"], published.as_str());

    server.publish(&Release::new("baz", "1.1"));
    server.add_file(
        "baz",
        File::new("baz-1.0-py3-none-win_amd64.whl", "1.0", b"late".to_vec()).publish(Published::Md5Only),
    );
    let page: Value = json(get(&format!("{}/baz/", server.index_url()), &[("Accept", PIP_ACCEPT)]));
    let names: Vec<&str> = page["files"].as_array().unwrap().iter().map(|f| f["filename"].as_str().unwrap()).collect();
    assert_eq!(names, ["baz-1.0-py3-none-any.whl", "baz-1.1-py3-none-any.whl", "baz-1.0-py3-none-win_amd64.whl"]);
    assert_eq!(page["files"][2]["hashes"], serde_json::json!({"md5": "0".repeat(32)}));
    assert_eq!(page["versions"], serde_json::json!(["1.0", "1.1"]));
}

#[test]
fn published_hash_overrides() {
    let bytes = b"abc".to_vec();
    let overrides = [
        (Published::None, serde_json::json!({})),
        (Published::Md5Only, serde_json::json!({"md5": "0".repeat(32)})),
        (
            Published::Sha512Only,
            serde_json::json!({"sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"}),
        ),
        (Published::WrongSha256, serde_json::json!({"sha256": "ab".repeat(32)})),
    ];
    for (published, expected) in overrides {
        let file = File::new("x-1.0.tar.gz", "1.0", bytes.clone()).publish(published);
        assert_eq!(serde_json::to_value(&file.hashes).unwrap(), expected, "{published:?}");
    }
}

#[test]
fn built_distributions_carry_their_metadata() {
    let built = build::wheel(
        "My.Pkg",
        "1.2",
        "cp311-cp311-win_amd64",
        &["six"],
        Some(">=3.9"),
        &[("fast", &["ujson; sys_platform != 'win32'"])],
    );
    assert_eq!(built.filename, "my_pkg-1.2-cp311-cp311-win_amd64.whl");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(built.bytes)).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut text).unwrap();
        text
    };
    assert_eq!(read("my_pkg-1.2.dist-info/METADATA"), built.metadata);
    assert!(built.metadata.contains("Requires-Python: >=3.9\n"));
    assert!(
        built
            .metadata
            .contains("Provides-Extra: fast\nRequires-Dist: ujson; (sys_platform != 'win32') and extra == \"fast\"\n")
    );
    assert!(read("my_pkg-1.2.dist-info/WHEEL").contains("Tag: cp311-cp311-win_amd64\n"));
    let record = read("my_pkg-1.2.dist-info/RECORD");
    assert!(record.contains("my_pkg/__init__.py,sha256="), "{record}");
    assert!(record.ends_with("my_pkg-1.2.dist-info/RECORD,,\n"), "{record}");

    let sdist = build::sdist("My.Pkg", "1.2", "2.2", &["six"], &["Requires-Dist"]);
    assert_eq!(sdist.filename, "my_pkg-1.2.tar.gz");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&sdist.bytes[..]));
    let mut pkg_info = String::new();
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        if path == "my_pkg-1.2/PKG-INFO" {
            entry.read_to_string(&mut pkg_info).unwrap();
        }
        names.push(path);
    }
    assert!(names.contains(&"my_pkg-1.2/setup.py".to_string()), "{names:?}");
    assert_eq!(pkg_info, sdist.metadata);
    assert!(pkg_info.starts_with("Metadata-Version: 2.2\nName: My.Pkg\nVersion: 1.2\n"), "{pkg_info}");
    assert!(pkg_info.contains("Dynamic: Requires-Dist\n") && !pkg_info.contains("Requires-Dist: six"), "{pkg_info}");
    // Reproducible: the same inputs give the same bytes (and so the same hashes).
    assert_eq!(build::sdist("My.Pkg", "1.2", "2.2", &["six"], &["Requires-Dist"]).bytes, sdist.bytes);
}

#[test]
fn loads_a_recorded_index() {
    let fixture = serde_json::json!({"projects": {
        "py-yaml": [
            {"filename": "PyYAML-6.0.tar.gz", "hashes": {"sha256": "aa".repeat(32)}, "requires_python": ">=3.6",
             "yanked": false, "size": 124996, "metadata": null},
            {"filename": "PyYAML-6.0-cp311-cp311-manylinux_2_17_x86_64.whl", "hashes": {"sha256": "bb".repeat(32)},
             "requires_python": ">=3.6", "yanked": "bad tags", "size": 757, "metadata": "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n"},
            {"filename": "py_yaml-5.0-py3-none-any.whl", "hashes": {"sha256": "cc".repeat(32), "md5": "dd".repeat(16)},
             "requires_python": null, "yanked": true, "size": null, "metadata": null}
        ]
    }});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recorded.json.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    gz.write_all(fixture.to_string().as_bytes()).unwrap();
    gz.finish().unwrap();

    let registry = Registry::from_recorded(&path);
    assert_eq!(registry.sha256s("PY_YAML", "6.0.0"), ["aa".repeat(32), "bb".repeat(32)].into_iter().collect());
    assert_eq!(registry.files_of("py-yaml", "5").len(), 1);

    let server = IndexServer::start(registry);
    let page: Value = json(get(&format!("{}/py-yaml/", server.index_url()), &[("Accept", PIP_ACCEPT)]));
    let files = page["files"].as_array().unwrap();
    assert_eq!(files[0]["requires-python"], ">=3.6");
    assert_eq!(files[0]["size"], 124996);
    assert_eq!(files[0]["yanked"], false);
    assert!(files[0].get("core-metadata").is_none());
    assert_eq!(files[1]["yanked"], "bad tags");
    assert_eq!(files[2]["yanked"], true);
    assert_eq!(files[2]["hashes"]["md5"], "dd".repeat(16));
    assert!(files[2].get("requires-python").is_none());
    let metadata_url = format!("{}.metadata", files[1]["url"].as_str().unwrap());
    let metadata = get(&metadata_url, &[]).text().unwrap();
    assert_eq!(metadata, "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n");
    assert_eq!(files[1]["core-metadata"]["sha256"], sha256_hex(metadata.as_bytes()));
    assert_eq!(get(files[1]["url"].as_str().unwrap(), &[]).status(), 404, "recorded files have no bytes");
}

#[test]
fn reads_versions_from_filenames() {
    let cases = [
        ("zope.interface-5.0.tar.gz", "zope-interface", Some("5.0")),
        ("python-dateutil-2.9.0.post0.tar.gz", "python-dateutil", Some("2.9.0.post0")),
        ("cffi-2.1.1-cp311-cp311-manylinux2014_x86_64.whl", "cffi", Some("2.1.1")),
        ("pkg-1.0.zip", "pkg", Some("1.0")),
        ("pkg-1.0-py2.7.egg", "pkg", None),
    ];
    for (filename, project, version) in cases {
        assert_eq!(support::version_in_filename(filename, project).as_deref(), version, "{filename}");
    }
}
