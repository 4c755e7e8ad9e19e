//! sdists whose dependencies only a build can tell: their metadata comes from a PEP 517 build
//! in a throwaway environment, whose build backend (`tinybackend`, a wheel on the test index)
//! pip installs with `--require-hashes` from hashlock's own lock of the build requirements.
//! The last tests install such an sdist with pip, every byte of its build hash-checked; they
//! skip without python3 (with venv and pip), unless HASHLOCK_REQUIRE_PIP=1.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::build::{backend_sdist, backend_wheel};
use support::pip::Venv;
use support::{File, IndexServer, Registry, Release, generate, hashlock, lock_from_stdout};

const BACKEND_WHEEL: &str = "/files/tinybackend-1.0-py3-none-any.whl";

/// `Metadata-Version: 1.1`, as old setuptools wrote it: no dependencies listed.
fn old_pkg_info(name: &str, version: &str) -> String {
    format!("Metadata-Version: 1.1\nName: {name}\nVersion: {version}\nSummary: old style\n")
}

fn pyproject(backend: &str) -> String {
    format!("[build-system]\nrequires = [\"tinybackend\"]\nbuild-backend = \"{backend}\"\n")
}

/// `oldstyle` (PKG-INFO 1.1, a backend with only `build_wheel`) needs `leaf`; `modern`
/// (pyproject with `dynamic = ["dependencies"]`) needs `leaf` and asks for `helper` to build.
fn tree(extra: &[(&str, &str)]) -> Registry {
    let modern_pyproject = format!(
        "[project]\nname = \"modern\"\nversion = \"1.0\"\ndynamic = [\"dependencies\"]\n\n{}",
        pyproject("tinybackend")
    );
    let modern_pkg_info = "Metadata-Version: 2.2\nName: modern\nVersion: 1.0\nDynamic: Requires-Dist\n";
    let mut registry = Registry::new().with([Release::new("leaf", "1.0"), Release::new("helper", "1.0").with_sdist()]);
    registry.add("tinybackend", File::built(backend_wheel(), "1.0"));
    let mut oldstyle_files = vec![("deps.txt", "leaf>=1\n"), ("setup.py", "setup(install_requires=['leaf>=1'])\n")];
    oldstyle_files.extend_from_slice(extra);
    let oldstyle = backend_sdist(
        "oldstyle",
        "1.0",
        &old_pkg_info("oldstyle", "1.0"),
        &pyproject("tinybackend.wheel_only"),
        &oldstyle_files,
    );
    registry.add("oldstyle", File::built(oldstyle, "1.0"));
    let modern = backend_sdist(
        "modern",
        "1.0",
        modern_pkg_info,
        &modern_pyproject,
        &[("deps.txt", "leaf\n"), ("build-deps.txt", "helper\n")],
    );
    registry.add("modern", File::built(modern, "1.0"));
    registry
}

fn fetched(server: &IndexServer, path: &str) -> bool {
    server.log().iter().any(|l| l.path == path && l.method == "GET" && l.status == 200)
}

#[test]
fn an_old_pkg_info_sdist_is_built_and_its_backend_installed_hash_checked() {
    let registry = tree(&[]);
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["oldstyle"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0"]);
    assert!(fetched(&server, BACKEND_WHEEL), "the backend came from the test index: {:#?}", server.log());

    // The backend's wheel is checked against the hash the index published before it is
    // unpacked: a wheel that is not what the index published stops the build.
    server.tamper("tinybackend-1.0-py3-none-any.whl");
    let out = generate(&server.index_url(), &["oldstyle"]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.stdout.is_empty(), "no partial output");
    let refused = "oldstyle 1.0: building its metadata from the sdist failed: build requirements: \
                   tinybackend-1.0-py3-none-any.whl has sha256";
    assert!(stderr.contains(refused), "{stderr}");
    assert!(stderr.contains(", the index says "), "{stderr}");
}

#[test]
fn what_get_requires_changes_in_its_process_does_not_reach_prepare_metadata() {
    // One runner imports the backend and forks for each hook: the fork for the metadata hook
    // starts from the runner, not from the process get_requires_for_build_wheel changed.
    let registry = tree(&[("state.txt", "")]);
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["oldstyle"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0"]);
}

#[test]
fn dynamic_pyproject_dependencies_are_built_with_what_the_backend_asks_for() {
    let registry = tree(&[]);
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["modern"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "modern==1.0"]);
    assert!(fetched(&server, BACKEND_WHEEL), "{:#?}", server.log());
    assert!(
        fetched(&server, "/files/helper-1.0-py3-none-any.whl"),
        "get_requires_for_build_wheel: {:#?}",
        server.log()
    );
}

#[test]
fn sdists_with_the_same_backend_are_each_built_from_their_own_tree() {
    // One environment and one runner serve both builds (they lock the same backend): each
    // hook still runs in its own sdist's tree and reports its own dependencies.
    let mut registry = tree(&[]);
    registry.publish(&Release::new("other", "1.0"));
    let second = backend_sdist(
        "second",
        "2.0",
        &old_pkg_info("second", "2.0"),
        &pyproject("tinybackend.wheel_only"),
        &[("deps.txt", "other>=1\n")],
    );
    registry.add("second", File::built(second, "2.0"));
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["oldstyle", "second"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0", "other==1.0", "second==2.0"]);
}

#[test]
fn a_build_requirement_beyond_the_backends_is_importable_in_the_shared_runner() {
    // `third` builds with the backend `oldstyle` builds with, plus `helper`, which its build
    // imports: the runner that imported the backend serves it, with `helper` added.
    let mut registry = tree(&[]);
    let pyproject =
        "[build-system]\nrequires = [\"tinybackend\", \"helper\"]\nbuild-backend = \"tinybackend.wheel_only\"\n";
    let third = backend_sdist(
        "third",
        "1.0",
        &old_pkg_info("third", "1.0"),
        pyproject,
        &[("deps.txt", "leaf\n"), ("import.txt", "helper\n")],
    );
    registry.add("third", File::built(third, "1.0"));
    let server = IndexServer::start(registry.clone());
    let lock = lock_from_stdout(&mut generate(&server.index_url(), &["oldstyle", "third"]));
    lock.assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0", "third==1.0"]);
    assert!(fetched(&server, "/files/helper-1.0-py3-none-any.whl"), "{:#?}", server.log());
    // Alone, its build is the one that starts the runner.
    let alone = lock_from_stdout(&mut generate(&server.index_url(), &["third"]));
    alone.assert_pins_and_hashes(&registry, &["leaf==1.0", "third==1.0"]);
}

#[test]
fn a_failing_backend_names_the_package_and_shows_the_end_of_its_output() {
    let server = IndexServer::start(tree(&[("fail.txt", "no compiler found\n")]));
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.txt");
    let out = generate(&server.index_url(), &["oldstyle", "-o", out_file.to_str().unwrap()])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hashlock: oldstyle 1.0: the backend's metadata hook failed"), "{stderr}");
    assert!(stderr.contains("    | tinybackend: no compiler found"), "the tail: {stderr}");
    assert!(
        stderr.contains("    | tinybackend: step 29") && !stderr.contains("step 10\n"),
        "only the last lines: {stderr}"
    );
    assert!(stderr.contains("oldstyle 1.0: building its metadata from the sdist failed"), "{stderr}");
    assert!(!out_file.exists(), "no file written");
}

#[test]
fn a_hanging_build_is_stopped_at_the_build_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let server = IndexServer::start(tree(&[("hang.txt", pid_file.to_str().unwrap())]));
    let started = Instant::now();
    let out =
        generate(&server.index_url(), &["oldstyle", "--build-timeout", "4"]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    // The deadline is the whole build's: on a busy machine it may fall during the install.
    assert!(stderr.contains("oldstyle 1.0: building its metadata from the sdist failed: "), "{stderr}");
    assert!(stderr.contains(": timed out after 4 s (--build-timeout)"), "{stderr}");
    // What the backend started ends with it (when the deadline fell in the backend, not the install).
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let stat = format!("/proc/{}/stat", pid.trim());
        let running = || std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z "));
        let until = Instant::now() + Duration::from_secs(5);
        while running() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!running(), "the backend's child {pid} outlived the timeout");
    }
}

#[test]
fn no_build_refuses_to_build_and_says_so() {
    let server = IndexServer::start(tree(&[]));
    let out = generate(&server.index_url(), &["oldstyle", "--no-build"]).assert().code(2).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("oldstyle 1.0: sdist only, and --no-build forbids building it"), "{stderr}");
    assert!(!fetched(&server, BACKEND_WHEEL), "nothing was installed: {:#?}", server.log());
}

#[test]
fn a_build_is_cached_under_the_sdists_sha256() {
    let registry = tree(&[]);
    let server = IndexServer::start(registry.clone());
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    // The third run is offline: the sdist itself was never kept, its built metadata was.
    for offline in [false, false, true] {
        let mut command = hashlock();
        command.args(["generate", "--index-url", &server.index_url(), "--python-version", "3.11"]);
        command.args(["--python-platform", "linux", "--cache-dir", cache_dir, "oldstyle"]);
        if offline {
            command.arg("--offline");
        }
        lock_from_stdout(&mut command).assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0"]);
    }
    let backend_fetches = server.log().iter().filter(|l| l.path == BACKEND_WHEEL && l.method == "GET").count();
    assert_eq!(backend_fetches, 1, "the later runs built nothing: {:#?}", server.log());
}

#[test]
fn build_constraints_pin_every_build_requirement_with_hashes_and_the_report_names_the_backend() {
    let registry = tree(&[]);
    let server = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let (build, report) = (dir.path().join("build.txt"), dir.path().join("report.json"));
    let args =
        ["modern", "oldstyle", "--build-constraints", build.to_str().unwrap(), "--report", report.to_str().unwrap()];
    lock_from_stdout(&mut generate(&server.index_url(), &args))
        .assert_pins_and_hashes(&registry, &["leaf==1.0", "modern==1.0", "oldstyle==1.0"]);
    let text = std::fs::read_to_string(&build).unwrap();
    assert!(text.contains("build requirements of: modern 1.0, oldstyle 1.0"), "{text}");
    // Build requirements come from wheels only: helper's sdist is left out, so that pip cannot
    // build it with build requirements nothing pins.
    let constraints = support::LockFile::parse(&text);
    assert_eq!(constraints.pins(), [("helper".into(), "1.0".into()), ("tinybackend".into(), "1.0".into())]);
    for (name, version) in constraints.pins() {
        let wheels = registry.files_of(&name, &version).into_iter().filter(|f| f.is_wheel());
        let wheels: BTreeSet<String> = wheels.map(|f| support::sha256_hex(f.bytes.as_deref().unwrap())).collect();
        assert_eq!(constraints.entry(&name).sha256s(), wheels, "{name}: {text}");
    }
    assert_eq!(registry.files_of("helper", "1.0").len(), 2, "helper has an sdist too");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let build_of = |name: &str| {
        report["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["build"].clone()
    };
    assert_eq!(
        build_of("modern"),
        serde_json::json!({"backend": "tinybackend", "requires": ["tinybackend", "helper"]})
    );
    assert_eq!(
        build_of("oldstyle"),
        serde_json::json!({"backend": "tinybackend.wheel_only", "requires": ["tinybackend"]})
    );
    assert_eq!(build_of("leaf"), serde_json::Value::Null);
}

fn output_text(output: &std::process::Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// `generate oldstyle -o out.txt --build-constraints build.txt` on a fresh index: the index,
/// its registry, the directory and the two files.
fn constrained_lock() -> (IndexServer, Registry, tempfile::TempDir, PathBuf, PathBuf) {
    let registry = tree(&[]);
    let server = IndexServer::start(registry.clone());
    let dir = tempfile::tempdir().unwrap();
    let (out, build) = (dir.path().join("out.txt"), dir.path().join("build.txt"));
    generate(&server.index_url(), &["oldstyle", "--build-constraints", build.to_str().unwrap(), "-o"])
        .arg(&out)
        .assert()
        .success();
    (server, registry, dir, out, build)
}

/// Changes one hex digit of the backend wheel's hash in `build`.
fn alter_backend_hash(build: &Path) {
    let text = std::fs::read_to_string(build).unwrap();
    let sha = support::sha256_hex(&backend_wheel().bytes);
    assert!(text.contains(&format!("--hash=sha256:{sha}")), "{text}");
    let flipped = format!("{}{}", if sha.starts_with('0') { '1' } else { '0' }, &sha[1..]);
    std::fs::write(build, text.replace(&sha, &flipped)).unwrap();
}

/// The install the README gives for hash-checked builds, with any pip: the build requirements
/// first (`--require-hashes -r build.txt`), then the lock without build isolation, so that the
/// build uses only what was hash-checked. `oldstyle` has only an sdist and its dependency
/// (`leaf`) is known only by building it. A build.txt whose backend hash is one digit off is
/// refused by pip.
#[test]
fn pip_builds_with_only_hash_checked_build_requirements_installed_from_build_constraints() {
    let (server, registry, _dir, out, build) = constrained_lock();
    support::LockFile::read(&out).assert_pins_and_hashes(&registry, &["leaf==1.0", "oldstyle==1.0"]);
    support::LockFile::read(&build).assert_pins_and_hashes(&registry, &["tinybackend==1.0"]);

    let Some(venv) = Venv::create() else { return };
    let installed = venv.install_require_hashes(&server.index_url(), &build, &[]);
    assert!(installed.status.success(), "pip install -r build.txt: {}", output_text(&installed));
    let backend_fetches = || server.log().iter().filter(|l| l.path == BACKEND_WHEEL && l.method == "GET").count();
    let fetched_before = backend_fetches();
    let installed = venv.install_require_hashes(&server.index_url(), &out, &["--no-build-isolation"]);
    assert!(installed.status.success(), "pip install --no-build-isolation -r out.txt: {}", output_text(&installed));
    assert_eq!(backend_fetches(), fetched_before, "the build fetched no backend of its own: {:#?}", server.log());
    let check =
        venv.python("import importlib.metadata as m, oldstyle, leaf; print(oldstyle.__version__, m.version('leaf'))");
    assert!(check.status.success(), "{}", output_text(&check));
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "1.0 1.0");

    // One hex digit of the backend's hash changed: pip refuses to install it.
    alter_backend_hash(&build);
    let Some(fresh) = Venv::create() else { return };
    let refused = fresh.install_require_hashes(&server.index_url(), &build, &[]);
    let said = output_text(&refused);
    assert!(!refused.status.success(), "pip installed a backend that does not match build.txt: {said}");
    assert!(said.contains("THESE PACKAGES DO NOT MATCH THE HASHES"), "pip's hash check: {said}");
    assert!(said.contains("tinybackend"), "{said}");
}

/// pip 26.3 checks the hashes of a `--build-constraint` file in its isolated builds: what
/// `--build-constraints` writes keeps the build of the lock hash-checked.
#[test]
fn pip_checks_the_hashes_of_the_build_constraints_file() {
    let (server, _, _dir, out, build) = constrained_lock();
    let constraint = ["--build-constraint", build.to_str().unwrap()];

    let Some(venv) = Venv::with_recent_pip() else { return };
    let installed = venv.install_require_hashes(&server.index_url(), &out, &constraint);
    assert!(installed.status.success(), "pip install --build-constraint build.txt: {}", output_text(&installed));
    let check = venv.python("import oldstyle, leaf; print(oldstyle.__version__)");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "1.0", "{}", output_text(&check));

    // The backend has one file: with one hex digit of its hash changed, nothing matches.
    alter_backend_hash(&build);
    let Some(fresh) = Venv::with_recent_pip() else { return };
    let refused = fresh.install_require_hashes(&server.index_url(), &out, &constraint);
    let said = output_text(&refused);
    assert!(!refused.status.success(), "pip built with a backend build.txt does not allow: {said}");
    assert!(said.contains("THESE PACKAGES DO NOT MATCH THE HASHES"), "pip's hash check: {said}");
}
