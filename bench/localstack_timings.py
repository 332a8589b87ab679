"""Time the LocalStack path: venv install, start, bootstrap, deploy, destroy, stop. Prints JSON.

    python bench/localstack_timings.py [--fresh-venv] [--app-dir DIR]

--fresh-venv installs the Python 3.13 LocalStack venv into a tmp dir first (what a fresh CI machine pays);
without it the repo's .localstack/venv is reused. LocalStack runs on a free port in a tmp run dir.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(name: str, command: list[str], env: dict[str, str], results: dict[str, float]) -> None:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True)
    results[f"{name}_s"] = round(time.perf_counter() - started, 2)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh-venv", action="store_true")
    parser.add_argument("--app-dir", help="CDK app directory (default: the repo)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="localstack-bench-"))
    env = {
        **os.environ,
        "LOCALSTACK_PORT": str(free_port()),
        "LOCALSTACK_HOST_DIR": str(work / "run"),
        "CDK_OUTDIR": str(work / "cdk.out"),
        "PIP_NO_CACHE_DIR": "1",
    }
    if args.fresh_venv:
        env["LOCALSTACK_VENV"] = str(work / "venv")
    if args.app_dir:
        env["CDK_APP_DIR"] = args.app_dir
    else:
        env["CDK_APP"] = f"{sys.executable} app.py"
    results: dict[str, float] = {}
    run_host, deploy = str(REPO / "localstack" / "run-host.sh"), str(REPO / "localstack" / "deploy.sh")
    timed("install", [run_host, "install"], env, results)
    timed("start", [run_host, "start"], env, results)
    try:
        timed("bootstrap", [deploy, "bootstrap"], env, results)
        timed("deploy_incl_synth", [deploy, "deploy"], env, results)  # re-runs bootstrap: a no-op by then
        timed("destroy", [deploy, "destroy"], env, results)
    finally:
        timed("stop", [run_host, "stop"], env, results)
    results["start_bootstrap_deploy_destroy_s"] = round(
        sum(results[k] for k in ("start_s", "bootstrap_s", "deploy_incl_synth_s", "destroy_s")), 2
    )
    load = os.getloadavg()[0]
    print(
        json.dumps({"benchmark": "localstack_timings", "fresh_venv": args.fresh_venv, "load_avg_1m": load, **results})
    )


if __name__ == "__main__":
    main()
