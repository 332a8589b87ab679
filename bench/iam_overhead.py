"""Benchmark: what the local permission check costs (dataplatform/local/iam).

Default: S3 and Glue calls against moto in this process, through the check (strict, as a task role with
CDK-shaped prefix grants) and straight to moto, interleaved in rounds so machine load hits both alike.
With --demo: `dataplatform demo --fresh --json` with DATAPLATFORM_LOCAL_IAM=strict and =off, alternating.

Prints JSON: {"calls", "checked_ms_per_call", "unchecked_ms_per_call", "ratio", ...}; with --demo also
{"demo_strict_s", "demo_off_s", "demo_ratio", "checked_calls"}.
Usage: python bench/iam_overhead.py [--calls 300] [--rounds 5] [--demo] [--scale 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataplatform.local.iam import LocalIam  # noqa: E402
from dataplatform.local.platform import free_port  # noqa: E402
from dataplatform.local.template import ACCOUNT, Resolver  # noqa: E402

GLUE = f"arn:aws:glue:us-east-1:{ACCOUNT}"
TEMPLATE = {
    "Resources": {
        "Raw": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "bench-raw"}},
        "TaskRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                        }
                    ]
                }
            },
        },
        "TaskPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "TaskPolicy",
                "Roles": [{"Ref": "TaskRole"}],
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:PutObject"],
                            "Resource": [f"arn:aws:s3:::bench-raw/raw/d{i}/*" for i in range(8)],
                        },
                        {
                            "Effect": "Allow",
                            "Action": "s3:ListBucket",
                            "Resource": "arn:aws:s3:::bench-raw",
                            "Condition": {"StringLike": {"s3:prefix": [f"raw/d{i}/*" for i in range(8)]}},
                        },
                        {
                            "Effect": "Allow",
                            "Action": ["glue:GetTable"],
                            "Resource": [f"{GLUE}:catalog", f"{GLUE}:database/db", f"{GLUE}:table/db/*"],
                        },
                    ]
                },
            },
        },
        "Task": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"FunctionName": "task", "Role": {"Fn::GetAtt": ["TaskRole", "Arn"]}},
        },
    }
}


def calls(s3: Any, glue: Any, n: int) -> float:
    started = time.perf_counter()
    for i in range(n // 3):
        key = f"raw/d{i % 8}/part-{i:05d}.csv"
        s3.put_object(Bucket="bench-raw", Key=key, Body=b"x" * 1024)
        s3.get_object(Bucket="bench-raw", Key=key)["Body"].read()
        glue.get_table(DatabaseName="db", Name="t")
    return (time.perf_counter() - started) * 1000 / (3 * (n // 3))


def request_level(n: int, rounds: int) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION="us-east-1")
    checked_port, plain_port = free_port(), free_port()
    os.environ["MOTO_PORT"] = str(checked_port)
    iam = LocalIam("strict")
    checked_server = iam.server(checked_port)
    checked_server.start()
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=plain_port, verbose=False)
    plain.start()
    config = Config(retries={"max_attempts": 1})

    def clients(port: int) -> tuple[Any, Any]:
        url = f"http://127.0.0.1:{port}"
        return boto3.client("s3", endpoint_url=url, config=config), boto3.client(
            "glue", endpoint_url=url, config=config
        )

    s3_checked, glue_checked = clients(checked_port)
    s3_plain, glue_plain = clients(plain_port)
    s3_plain.create_bucket(Bucket="bench-raw")
    glue_plain.create_database(DatabaseInput={"Name": "db"})
    glue_plain.create_table(DatabaseName="db", TableInput={"Name": "t"})
    iam.load(Resolver(TEMPLATE, "bench"), boto3.client("sts", endpoint_url=f"http://127.0.0.1:{checked_port}"))
    checked, unchecked = [], []
    try:
        calls(s3_plain, glue_plain, 30)  # warm-up
        with iam.as_function("task"):
            calls(s3_checked, glue_checked, 30)
        for _ in range(rounds):
            unchecked.append(calls(s3_plain, glue_plain, n))
            with iam.as_function("task"):
                checked.append(calls(s3_checked, glue_checked, n))
        summary = iam.summary()
    finally:
        checked_server.stop()
        plain.stop()
        iam.close()
    checked_ms, unchecked_ms = statistics.median(checked), statistics.median(unchecked)
    return {
        "calls": n * rounds,
        "checked_ms_per_call": round(checked_ms, 3),
        "unchecked_ms_per_call": round(unchecked_ms, 3),
        "ratio": round(checked_ms / unchecked_ms, 3),
        "checks_recorded": summary.checked,
        "denied": summary.denied,
    }


def demo_level(scale: float) -> dict[str, Any]:
    times: dict[str, float] = {}
    checked_calls = None
    for mode in ("off", "strict"):
        with tempfile.TemporaryDirectory(prefix="iam-bench-") as lake:
            env = {**os.environ, "DATAPLATFORM_LAKE_DIR": lake, "DATAPLATFORM_LOCAL_IAM": mode}
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "dataplatform", "demo", "--fresh", "--json", "--scale", str(scale)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            times[mode] = time.monotonic() - started
            summary = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
            if summary.get("status") != "SUCCEEDED":
                raise SystemExit(f"demo with IAM {mode} did not succeed: {proc.stderr[-2000:]}")
            if mode == "strict":
                checked_calls = summary["iam"]["checked"]
    return {
        "demo_off_s": round(times["off"], 1),
        "demo_strict_s": round(times["strict"], 1),
        "demo_ratio": round(times["strict"] / times["off"], 3),
        "checked_calls": checked_calls,
        "scale": scale,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--scale", type=float, default=0.2)
    args = parser.parse_args()
    result = request_level(args.calls, args.rounds)
    if args.demo:
        result.update(demo_level(args.scale))
    result.update({"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)})
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
