//! `hashlock export LOCKFILE`: a lock, audited, becomes a requirements file pip installs with
//! `--require-hashes`, carrying every hash the index publishes; a lock with errors writes nothing.

mod support;

use support::pip::Venv;
use support::{IndexServer, LockFile, Ran, hashlock_at};

/// A hand-written lock of the layered tree that records one hash per package (the Linux wheel's
/// or the only file's), as a lock made on one machine does.
fn one_hash_lock(server: &IndexServer) -> String {
    let registry = server.registry();
    let first = |name: &str, version: &str| registry.sha256s(name, version).into_iter().next().unwrap();
    let lib = &registry.file("lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap().hashes["sha256"];
    format!(
        "app==1.0 --hash=sha256:{}\nlib==1.0 --hash=sha256:{lib}\ncore==2.0 --hash=sha256:{}\ntool==1.0 --hash=sha256:{}\n",
        first("app", "1.0"),
        first("core", "2.0"),
        first("tool", "1.0")
    )
}

#[test]
fn an_exported_lock_carries_every_published_hash_and_pip_installs_it() {
    let server = IndexServer::start(support::layered_tree());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.lock"), one_hash_lock(&server)).unwrap();
    let mut command = hashlock_at("export", &server.index_url(), &["requirements.lock", "-o", "requirements.txt"]);
    let ran = Ran::of(command.current_dir(dir.path()), &[dir.path()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let written = LockFile::read(&dir.path().join("requirements.txt"));
    written.assert_pins_and_hashes(&server.registry(), &["app==1.0", "core==2.0", "lib==1.0", "tool==1.0"]);

    let Some(venv) = Venv::create() else { return };
    let installed = venv.install_require_hashes(&server.index_url(), &dir.path().join("requirements.txt"), &[]);
    assert!(installed.status.success(), "pip: {}", String::from_utf8_lossy(&installed.stderr));
}

#[test]
fn a_lock_with_errors_is_not_exported_and_an_existing_output_is_kept() {
    let server = IndexServer::start(support::layered_tree());
    let dir = tempfile::tempdir().unwrap();
    let without_core: String =
        one_hash_lock(&server).lines().filter(|l| !l.starts_with("core==")).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("requirements.lock"), without_core).unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "# an older export\n").unwrap();
    let mut command = hashlock_at("export", &server.index_url(), &["requirements.lock", "-o", "requirements.txt"]);
    let ran = Ran::of(command.current_dir(dir.path()), &[dir.path()]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("[missing-dependency]") && ran.stderr.contains("core"), "{}", ran.stderr);
    assert!(ran.stderr.contains("no file written"), "{}", ran.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("requirements.txt")).unwrap(), "# an older export\n");
}

#[test]
fn a_lock_exports_as_a_pylock_toml_that_pip_installs() {
    let server = IndexServer::start(support::layered_tree());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.lock"), one_hash_lock(&server)).unwrap();
    let mut command = hashlock_at("export", &server.index_url(), &["requirements.lock", "-o", "pylock.toml"]);
    let ran = Ran::of(command.current_dir(dir.path()), &[dir.path()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let text = std::fs::read_to_string(dir.path().join("pylock.toml")).unwrap();
    assert!(text.starts_with("lock-version = \"1.0\"\n"), "{text}");
    let registry = server.registry();
    for name in ["app", "lib", "core", "tool"] {
        let version = if name == "core" { "2.0" } else { "1.0" };
        for sha256 in registry.sha256s(name, version) {
            assert!(text.contains(&sha256), "{name}: every published hash, {sha256} too:\n{text}");
        }
    }

    let Some(venv) = Venv::with_recent_pip() else { return };
    let installed = venv.install_require_hashes(&server.index_url(), &dir.path().join("pylock.toml"), &["--no-index"]);
    assert!(installed.status.success(), "pip: {}", String::from_utf8_lossy(&installed.stderr));
}
