"""Time the dry run of a config's whole graph (default: the paper grid in config.yaml).

    python benchmarks/dag.py [--configfile config/tiny.yaml] [--repeat 3]
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--configfile")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    cmd = [sys.executable, "-m", "snakemake", "-n", "-q", "rules"] + (["--configfile", args.configfile] if args.configfile else [])
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - t0)
    total = re.findall(r"^total\s+(\d+)", out, re.M)
    print(f"jobs: {total[-1] if total else '?'}; dry run: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s over {len(times)}")


if __name__ == "__main__":
    main()
