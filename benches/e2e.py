#!/usr/bin/env python3
"""End to end: hashlock generate vs uv pip compile --generate-hashes, side by side.

Both tools lock the same package against the same live index (pip's default, learned at run
time, or PIP_INDEX_URL): hashlock gets it as --index-url, uv as UV_INDEX_URL. They alternate
round by round so that network and machine noise hit both alike. For each case it prints the
median wall time of each tool, the median of the per-round ratios hashlock/uv, and peak RSS
(median and max, from /usr/bin/time). Cases:

- cold: a fresh --cache-dir for hashlock and a fresh UV_CACHE_DIR for uv, every run;
- warm: one primed cache per tool, both with --offline.

It also checks that hashlock's output with a warm cache is byte-identical to a cold one.

    benches/e2e.py [--rounds 5] [--packages dds-cli jupyter] [--warm dds-cli] [--uv PATH] [--hashlock PATH]

Needs network access to the index; never run by the tests. uv: --uv, else the one on PATH,
else installed from the index into target/bench-venv.
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


def find_uv(given: str | None) -> str:
    if given:
        return given
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    out = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--help"], capture_output=True, text=True, env=env
    ).stdout.split()
    return out[out.index("(default") + 1].rstrip(").")


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run, which must succeed."""
    cwd.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--packages", nargs="+", default=["dds-cli", "jupyter"])
    parser.add_argument("--warm", nargs="*", default=["dds-cli"], help="packages also timed warm")
    parser.add_argument("--python-version", default="3.11")
    parser.add_argument("--platform", default="linux")
    parser.add_argument("--uv", help="the uv binary")
    parser.add_argument("--hashlock", help="the hashlock binary (default: build it with cargo --release)")
    args = parser.parse_args()

    hashlock = args.hashlock
    if not hashlock:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        hashlock = str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "hashlock")
    uv = find_uv(args.uv)
    index = index_url()
    work = Path(tempfile.mkdtemp(prefix="hashlock-bench-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    uv_env = {**base_env, "UV_INDEX_URL": index}
    target_args = ["--python-version", args.python_version, "--python-platform", args.platform]
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip()

    def run(tool: str, package: str, cache: Path, cwd: Path, offline: bool) -> tuple[float, int]:
        flags = ["--offline"] if offline else []
        if tool == "hashlock":
            cmd = [hashlock, "generate", package, *target_args, "--index-url", index, "--cache-dir", str(cache)]
            return timed([*cmd, "-q", "-o", "requirements.txt", *flags], base_env, cwd)
        (work / "in.txt").write_text(package + "\n")
        cmd = [uv, "pip", "compile", "--generate-hashes", *target_args, "--cache-dir", str(cache), "-q"]
        return timed([*cmd, str(work / "in.txt"), "-o", "requirements.txt", *flags], uv_env, cwd)

    print(f"hashlock vs {version}, CPython {args.python_version} on {args.platform}, {args.rounds} alternating rounds")
    for package in args.packages:
        cases = ["cold"] + (["warm"] if package in args.warm else [])
        for case in cases:
            warm_cache = {tool: work / package / f"warm-cache-{tool}" for tool in ("hashlock", "uv")}
            if case == "warm":
                for tool, cache in warm_cache.items():
                    run(tool, package, cache, work / package / f"prime-{tool}", False)
            rows: dict[str, list[tuple[float, int]]] = {"hashlock": [], "uv": []}
            for round_ in range(args.rounds):
                for tool in ("hashlock", "uv") if round_ % 2 == 0 else ("uv", "hashlock"):
                    cwd = work / package / f"{case}-{tool}-{round_}"
                    cache = warm_cache[tool] if case == "warm" else cwd / "cache"
                    rows[tool].append(run(tool, package, cache, cwd, case == "warm"))
            ratios = [h[0] / u[0] for h, u in zip(rows["hashlock"], rows["uv"])]
            wall = {tool: statistics.median(t for t, _ in runs) for tool, runs in rows.items()}
            rss = {tool: (statistics.median(r for _, r in runs), max(r for _, r in runs)) for tool, runs in rows.items()}
            print(
                f"{package:10} {case:4}  hashlock {wall['hashlock']:.3f}s  uv {wall['uv']:.3f}s  "
                f"median ratio {statistics.median(ratios):.2f} ({' '.join(f'{r:.2f}' for r in ratios)})  "
                f"peak RSS median/max: hashlock {rss['hashlock'][0] / 1024:.1f}/{rss['hashlock'][1] / 1024:.1f} MiB, "
                f"uv {rss['uv'][0] / 1024:.1f}/{rss['uv'][1] / 1024:.1f} MiB"
            )
        if "warm" in cases:
            cold = (work / package / "cold-hashlock-0" / "requirements.txt").read_bytes()
            warm = (work / package / "warm-hashlock-0" / "requirements.txt").read_bytes()
            print(f"{package:10} hashlock output byte-identical cold vs warm: {cold == warm}")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
