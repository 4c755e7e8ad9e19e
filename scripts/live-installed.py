#!/usr/bin/env python3
"""Live: `hashlock verify LOCK --installed VENV` on a real installation.

For each project (dds-cli; jupyter with --jupyter): `hashlock generate PROJECT -o req.txt`
against the machine's index, `pip install --require-hashes -r req.txt` into a fresh venv, then
`hashlock verify req.txt --installed VENV` twice, cold (empty --cache-dir) and warm, both of
which must exit 0; and `hashlock verify --installed VENV` without the lock, which must exit 0.
For dds-cli, each tampering must then exit 1 and be named, and be undone before the next: a
line appended to six.py, a planted zz.pth in site-packages, a line appended to bin/dds, and
`pip install --no-deps toml` outside the lock.

    scripts/live-installed.py [--hashlock PATH] [--work DIR] [--jupyter]

Needs the network; never run by the tests. hashlock and pip run without PIP_FIND_LINKS, so
that the index of the machine's pip configuration is the only source.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ENV = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}


def run(args, check=True):
    done = subprocess.run(args, env=ENV, capture_output=True, text=True)
    if check and done.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return done


def verify(hashlock, lock, venv, cache):
    """(exit code, report JSON, seconds)."""
    args = [hashlock, "verify"] + ([lock] if lock else []) + ["--installed", venv]
    started = time.monotonic()
    done = run(args + ["--cache-dir", cache, "--format", "json"], check=False)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"verify: exit {done.returncode}\n{done.stderr}")
    return done.returncode, json.loads(done.stdout), elapsed


def problems(report):
    return [f for f in report["findings"] if f["severity"] != "info"]


def expect(what, result, code, finding=None):
    status, report, _ = result
    found = problems(report)
    named = finding is None or any(
        f["code"] == finding[0] and f["package"] == finding[1] and finding[2] in f["message"] for f in found)
    ok = status == code and named and (code == 1 or not found)
    shown = "; ".join(f"[{f['code']}] {f['message']}" for f in found) or "no findings"
    print(f"{'ok  ' if ok else 'FAIL'} {what}: exit {status}: {shown}")
    return ok


def install(hashlock, project, work):
    lock = os.path.join(work, f"{project}.txt")
    venv = os.path.join(work, f"{project}-venv")
    run([hashlock, "generate", project, "-o", lock])
    run([sys.executable, "-m", "venv", venv])
    run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
         "--require-hashes", "-r", lock])
    return lock, venv


def timed(hashlock, project, work):
    """Installs, verifies cold and warm; returns (lock, venv, cache, all passed)."""
    lock, venv = install(hashlock, project, work)
    cache = os.path.join(work, f"{project}-cache")
    cold = verify(hashlock, lock, venv, cache)
    warm = verify(hashlock, lock, venv, cache)
    print(f"{project}: {cold[1]['target']}")
    print(f"{project}: cold {cold[2]:.2f}s, warm {warm[2]:.2f}s")
    ok = expect(f"{project} clean, cold", cold, 0) & expect(f"{project} clean, warm", warm, 0)
    ok &= expect(f"{project} clean, no lock", verify(hashlock, None, venv, cache), 0)
    return lock, venv, cache, ok


def tampers(hashlock, lock, venv, cache):
    site = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages"))[0]
    ok = True
    for path, line, finding in [
        (os.path.join(site, "six.py"), "import os\n", ("installed-file-modified", "six", "six.py")),
        (os.path.join(venv, "bin", "dds"), "import os\n", ("installed-file-modified", "dds-cli", "bin/dds")),
    ]:
        with open(path, "rb") as f:
            before = f.read()
        with open(path, "ab") as f:
            f.write(line.encode())
        ok &= expect(f"appended to {os.path.relpath(path, venv)}", verify(hashlock, lock, venv, cache), 1, finding)
        with open(path, "wb") as f:
            f.write(before)
    planted = os.path.join(site, "zz.pth")
    with open(planted, "w") as f:
        f.write("import os\n")
    ok &= expect("planted zz.pth", verify(hashlock, lock, venv, cache), 1, ("unowned-file", None, "zz.pth"))
    os.remove(planted)
    pip = os.path.join(venv, "bin", "pip")
    run([pip, "install", "-q", "--disable-pip-version-check", "--no-deps", "toml"])
    ok &= expect("pip install --no-deps toml", verify(hashlock, lock, venv, cache), 1, ("not-in-lock", "toml", "toml"))
    run([pip, "uninstall", "-q", "-y", "toml"])
    ok &= expect("all undone", verify(hashlock, lock, venv, cache), 0)
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hashlock", default="target/release/hashlock")
    parser.add_argument("--work")
    parser.add_argument("--jupyter", action="store_true")
    args = parser.parse_args()
    hashlock = os.path.abspath(args.hashlock)
    work = args.work or tempfile.mkdtemp(prefix="hashlock-live-installed-")
    os.makedirs(work, exist_ok=True)
    try:
        lock, venv, cache, ok = timed(hashlock, "dds-cli", work)
        ok &= tampers(hashlock, lock, venv, cache)
        if args.jupyter:
            ok &= timed(hashlock, "jupyter", work)[3]
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
