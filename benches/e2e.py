#!/usr/bin/env python3
"""End to end: hashlock generate vs uv pip compile --generate-hashes, side by side.

Both tools run against the same live index (hashlock's choice, passed to uv too), alternating
round by round so that network and machine noise hit both alike. For each case it reports the
median wall time of each tool, the median ratio hashlock/uv (per round, then the median), and
peak RSS. Cold: a fresh cache directory per run; warm: one primed cache, both with --offline.

    benches/e2e.py [--rounds 5] [--package dds-cli] [--python-version 3.11] [--platform linux]

Needs network access to the index; never run by the tests. uv is installed from the index into
target/bench-venv when not on PATH.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_uv() -> str:
    uv = shutil.which("uv")
    if uv:
        return uv
    venv = ROOT / "target" / "bench-venv"
    uv = venv / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "uv"], check=True)
    return str(uv)


def index_url() -> str:
    """PIP_INDEX_URL, else pip's default (printed by `pip install --help`), as hashlock does."""
    url = os.environ.get("PIP_INDEX_URL")
    if url:
        return url
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--help"], capture_output=True, text=True
    ).stdout.split()
    return out[out.index("(default") + 1].rstrip(").")


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(proc.stderr.strip().splitlines()[-1])
    return wall, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--package", default="dds-cli")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--platform", default="linux")
    args = parser.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    hashlock = str(ROOT / "target" / "release" / "hashlock")
    uv = find_uv()
    index = index_url()
    work = Path(tempfile.mkdtemp(prefix="hashlock-bench-"))
    (work / "in.txt").write_text(args.package + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}

    def hashlock_cmd(cache: Path, out: Path, offline: bool) -> list[str]:
        cmd = [hashlock, "generate", args.package, "--python-version", args.python_version,
               "--python-platform", args.platform, "--index-url", index, "--cache-dir", str(cache),
               "-q", "-o", str(out)]
        return cmd + (["--offline"] if offline else [])

    def uv_cmd(cache: Path, out: Path, offline: bool) -> list[str]:
        cmd = [uv, "pip", "compile", "--generate-hashes", "--python-version", args.python_version,
               "--python-platform", args.platform, "--index-url", index, "--cache-dir", str(cache),
               "-q", str(work / "in.txt"), "-o", str(out)]
        return cmd + (["--offline"] if offline else [])

    warm_hashlock, warm_uv = work / "warm-hashlock", work / "warm-uv"
    timed(hashlock_cmd(warm_hashlock, work / "prime-h.txt", False), env)
    timed(uv_cmd(warm_uv, work / "prime-u.txt", False), env)

    print(f"{args.package} for CPython {args.python_version} on {args.platform}, {args.rounds} alternating rounds")
    for case in ("cold", "warm"):
        rows = {"hashlock": [], "uv": []}
        for round_ in range(args.rounds):
            for tool in (("hashlock", "uv") if round_ % 2 == 0 else ("uv", "hashlock")):
                make = hashlock_cmd if tool == "hashlock" else uv_cmd
                if case == "cold":
                    cache = work / f"cold-{tool}-{round_}"
                    cmd = make(cache, work / f"{tool}-cold-{round_}.txt", False)
                else:
                    cache = warm_hashlock if tool == "hashlock" else warm_uv
                    cmd = make(cache, work / f"{tool}-warm-{round_}.txt", True)
                rows[tool].append(timed(cmd, env))
        ratios = [h[0] / u[0] for h, u in zip(rows["hashlock"], rows["uv"])]
        med = {tool: statistics.median(t for t, _ in runs) for tool, runs in rows.items()}
        rss = {tool: max(r for _, r in runs) for tool, runs in rows.items()}
        print(
            f"{case:5} hashlock {med['hashlock']:.3f}s  uv {med['uv']:.3f}s  "
            f"median ratio {statistics.median(ratios):.2f}  (ratios {' '.join(f'{r:.2f}' for r in ratios)})  "
            f"peak RSS hashlock {rss['hashlock'] // 1024} MiB, uv {rss['uv'] // 1024} MiB"
        )
    cold, warm = (work / "hashlock-cold-0.txt").read_bytes(), (work / "hashlock-warm-0.txt").read_bytes()
    print(f"hashlock output identical cold vs warm: {cold == warm}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
