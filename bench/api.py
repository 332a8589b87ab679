"""Benchmark of the HTTP API served locally: latency over real HTTP against the same query on the engine itself.

    python bench/api.py [--requests 200] [--lake-dir DIR]

Serves the API (`dataplatform serve`'s LocalApiServer) over the API tests' fixture lake (or over DIR, e.g. the
demo's `.local-lake`), then for /kpi/summary and /marts/daily_revenue: p50 and p95 of N sequential requests
(keep-alive session), p50 and p95 of the same statement run N times directly on a LocalAthena over the same lake,
and their ratio. Also the API handler's import time (a fresh interpreter importing lambdas/api/handler.py, the cold
start's import part; awswrangler loads on the first query, not at import) and the function's unzipped bundle size
(the same pip call the CDK bundler makes). Prints one JSON object.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from dataplatform.api import queries  # noqa: E402
from dataplatform.config import load_config  # noqa: E402
from dataplatform.local.athena.engine import LocalAthena  # noqa: E402
from dataplatform.local.lake_store import write_resources  # noqa: E402
from dataplatform.local.serve import LocalApiServer, ServeOptions  # noqa: E402


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
    }


def timed(call, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def import_time() -> float:
    env = {**os.environ, "RAW_BUCKET": "raw", "CURATED_BUCKET": "curated", "AWS_DEFAULT_REGION": "us-east-1",
           "PIPELINE_CONFIG": str(ROOT / "pipeline.yaml"), "POWERTOOLS_TRACE_DISABLED": "1"}  # fmt: skip
    code = (
        "import time,sys;s=time.perf_counter();sys.path[:0]=['lambdas/api','.'];import handler;"
        "print(time.perf_counter()-s)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--lake-dir", type=Path)
    args = parser.parse_args()
    config = load_config(ROOT / "pipeline.yaml")
    if args.lake_dir:
        lake, curated = args.lake_dir.resolve(), None
    else:
        from tests.api.support import BUCKET, RAW_BUCKET, build_lake

        lake, curated = build_lake(Path(tempfile.mkdtemp(prefix="bench-api-"))), BUCKET
        write_resources(lake, config.project, {"raw_bucket": RAW_BUCKET, "curated_bucket": BUCKET})
    n = args.requests
    routes = {
        "/kpi/summary": queries.kpi_summary(config.project),
        "/marts/daily_revenue": None,  # the page statement needs the mart's columns: taken from the catalog below
    }
    results: dict[str, dict[str, float]] = {}
    with LocalApiServer(
        ServeOptions(config_file=ROOT / "pipeline.yaml", lake_dir=lake, port=0, token="bench")
    ) as server:
        session = requests.Session()
        session.headers["Authorization"] = "Bearer bench"
        with LocalAthena.from_lake_dir(lake, config, curated_bucket=curated) as engine:
            table = engine.catalog.get_table(config.glue_database("marts"), "daily_revenue") or {}
            columns = [(c["Name"], c["Type"]) for c in table.get("StorageDescriptor", {}).get("Columns", [])]
            routes["/marts/daily_revenue"] = queries.mart_page(config.project, "daily_revenue", columns, 0, 100)
            for path, statement in routes.items():
                url = f"{server.url}{path}"
                assert session.get(url, timeout=30).status_code == 200  # warm: engine built, catalog mapped
                api = percentiles(timed(lambda u=url: session.get(u, timeout=30).raise_for_status(), n))
                assert statement is not None
                direct = percentiles(timed(lambda s=statement: engine.execute(s.sql, parameters=s.parameters), n))
                results[path] = {
                    **{f"api_{k}": v for k, v in api.items()},
                    **{f"engine_{k}": v for k, v in direct.items()},
                    "p50_ratio": round(api["p50_ms"] / direct["p50_ms"], 2),
                }
    from infra.bundle_sizes import measure

    bundle = measure(ROOT, ["api"])["api"]
    print(json.dumps({
        "requests": n, "lake": str(lake), "routes": results,
        "handler_import_s": round(import_time(), 3),
        "bundle_unzipped_mb": bundle["unzipped_mb"], "bundle_largest_mb": bundle["largest"],
        "note": "awswrangler, pandas and pyarrow come from the AWS SDK for pandas layer, not the bundle",
    }, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
