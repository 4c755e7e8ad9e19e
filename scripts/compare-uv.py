#!/usr/bin/env python3
"""Live: does hashlock pin what uv pins? Runs `hashlock generate` and
`uv pip compile --generate-hashes` on the same trees, one right after the other, each with an
empty cache, and prints per tree: both wall times, their ratio, and whether the pins
(name==version ; marker) and the sha256 set of every pin agree; where they differ, the
differing lines.

    scripts/compare-uv.py [--hashlock PATH] [--uv PATH] [CASE ...]

A CASE is `REQUIREMENTS|FLAGS` (requirements separated by spaces), e.g. `'requests[socks]|--universal --python-version 3.8'` or
`'docopt|--python-version 3.11 --python-platform linux'`; without cases, the trees issue 9 names.
REQUIREMENTS may instead be the path of a project's pyproject.toml, which both tools read (run
in its directory, where uv's `--group` looks), e.g.
`'demo/pyproject.toml|--extra socks --group dev --python-version 3.11 --python-platform linux'`.
Both tools use the same index: hashlock learns it from pip, uv gets it as UV_INDEX_URL.
Needs the network; never run by the tests.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
from e2e import find_uv, index_url  # noqa: E402

LINUX_311 = "--python-version 3.11 --python-platform linux"
DEFAULT_CASES = [
    "homeassistant|--python-version 3.13 --python-platform linux",
    f"pyspark|{LINUX_311}",
    f"docopt|{LINUX_311}",
    f"dbt-core|{LINUX_311}",
    "requests[socks]|--universal --python-version 3.8",
]


def parse(text: str) -> dict[str, set[str]]:
    """`name==version ; marker` -> sha256 set, from a hashed requirements file."""
    pins: dict[str, set[str]] = {}
    current = None
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement = line.split(" --hash", 1)[0].strip()
        if requirement:
            current = re.sub(r"\s+", " ", requirement.replace('"', "'"))
            pins[current] = set()
        pins[current].update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    return pins


def run(command: list[str], env: dict[str, str], cwd: Path | None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    return time.monotonic() - started, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashlock", default=str(Path(__file__).resolve().parent.parent / "target/release/hashlock"))
    parser.add_argument("--uv")
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    args = parser.parse_args()
    uv = find_uv(args.uv)
    env = {k: v for k, v in os.environ.items() if k != "PIP_FIND_LINKS"}
    env["UV_INDEX_URL"] = index_url()
    for case in args.cases:
        requirements, _, flags = case.partition("|")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            project = Path(requirements).resolve() if requirements.endswith("pyproject.toml") else None
            if project is None:
                (tmp / "in.txt").write_text("\n".join(requirements.split()) + "\n")
            source = "pyproject.toml" if project else str(tmp / "in.txt")
            cwd = project.parent if project else None
            ours = [args.hashlock, "generate", "-r", source, "-q", "--cache-dir", str(tmp / "h")]
            theirs = [uv, "pip", "compile", source, "--generate-hashes", "-q", "--no-header"]
            hashlock_time, hashlock = run(ours + shlex.split(flags), env, cwd)
            uv_time, uv_done = run(theirs + shlex.split(flags), {**env, "UV_CACHE_DIR": str(tmp / "u")}, cwd)
        title = f"{requirements} {flags}"
        if hashlock.returncode or uv_done.returncode:
            print(f"{title}: hashlock exit {hashlock.returncode} ({hashlock_time:.1f}s), uv exit {uv_done.returncode} ({uv_time:.1f}s)")
            for name, done in (("hashlock", hashlock), ("uv", uv_done)):
                if done.returncode:
                    print(f"  {name}: {done.stderr.strip()[-600:]}")
            continue
        a, b = parse(hashlock.stdout), parse(uv_done.stdout)
        same_pins = set(a) == set(b)
        same_hashes = same_pins and all(a[p] == b[p] for p in a)
        print(
            f"{title}: {len(a)} pins, {sum(map(len, a.values()))} sha256; hashlock {hashlock_time:.1f}s, "
            f"uv {uv_time:.1f}s, ratio {hashlock_time / uv_time:.2f}; "
            f"pins {'same' if same_pins else 'DIFFER'}, sha256 sets {'same' if same_hashes else 'DIFFER'}"
        )
        for pin in sorted(set(a) ^ set(b)):
            print(f"  {'hashlock' if pin in a else 'uv'} only: {pin}")
        for pin in sorted(p for p in set(a) & set(b) if a[p] != b[p]):
            print(f"  {pin}: {len(a[pin] - b[pin])} sha256 only in hashlock's, {len(b[pin] - a[pin])} only in uv's")


if __name__ == "__main__":
    main()
