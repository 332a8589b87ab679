"""Benchmark: `dataplatform demo --fresh --json` end to end (CDK synth, moto, pgserver, Spark, DuckDB included).

Prints JSON: {"wall_s", "status", "pipeline_s", "scale", "cpus"}. Target (docs): under 90 s on 2 cores at scale 1.
Usage: python bench/demo.py [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="demo-bench-") as lake:
        env = {**os.environ, "DATAPLATFORM_LAKE_DIR": lake}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "dataplatform", "demo", "--fresh", "--json", "--scale", str(args.scale)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
    try:
        summary = json.loads(proc.stdout)
    except json.JSONDecodeError:
        print(proc.stderr[-3000:], file=sys.stderr)
        summary = {"status": f"exit {proc.returncode}"}
    print(
        json.dumps(
            {
                "wall_s": round(wall, 1),
                "status": summary.get("status"),
                "pipeline_s": summary.get("duration_s"),
                "scale": args.scale,
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 1),
            }
        )
    )
    return 0 if summary.get("status") == "SUCCEEDED" else 1


if __name__ == "__main__":
    raise SystemExit(main())
