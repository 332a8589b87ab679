"""Measure the unzipped size of every Lambda bundle (wheels + the dataplatform modules its handler imports +
pipeline.yaml + handler folder), and the Glue job's package zip.

    python -m infra.bundle_sizes            # prints JSON: {"limit_mb": 250, "functions": {name: {...}}}

Lambda rejects bundles over 250 MB unzipped. The wheels come from the same pip call the CDK bundler makes (and
the same cache under build/lambda-deps), so the numbers are those of the deployed packages. Exit status 1 if a
bundle is over the limit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from infra.bundling import LocalPythonBundler, bundle_size, dataplatform_zip

LIMIT_MB = 250
REPO_ROOT = Path(__file__).resolve().parent.parent


def measure(root: Path, names: list[str] | None = None) -> dict[str, dict[str, float]]:
    functions = sorted(p.name for p in (root / "lambdas").iterdir() if (p / "requirements.txt").is_file())
    results: dict[str, dict[str, float]] = {}
    for name in names or functions:
        function_dir = root / "lambdas" / name
        with tempfile.TemporaryDirectory(prefix=f"bundle-{name}-") as out:
            LocalPythonBundler(root, function_dir, root / "pipeline.yaml").try_bundle(out)
            size = bundle_size(Path(out))
            largest = sorted(
                ((bundle_size(p) if p.is_dir() else p.stat().st_size, p.name) for p in Path(out).iterdir()),
                reverse=True,
            )[:3]
            runtime = bundle_size(Path(out) / "dataplatform")
            modules = len(list((Path(out) / "dataplatform").rglob("*.py")))
        results[name] = {
            "unzipped_mb": round(size / 1024**2, 1),
            "dataplatform_kb": round(runtime / 1024, 1),
            "dataplatform_modules": modules,
            "share_of_limit": round(size / (LIMIT_MB * 1024**2), 3),
            "largest": {n: round(s / 1024**2, 1) for s, n in largest},
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("functions", nargs="*", help="lambdas/<name> folders (default: all with requirements.txt)")
    args = parser.parse_args(argv)
    results = measure(REPO_ROOT, args.functions or None)
    glue_zip = dataplatform_zip(REPO_ROOT, REPO_ROOT / "glue_jobs" / "standardize.py")
    all_modules = len(list((REPO_ROOT / "dataplatform").rglob("*.py")))
    summary = {
        "limit_mb": LIMIT_MB,
        "dataplatform_modules_in_repo": all_modules,
        "glue_package_zip_kb": round(glue_zip.stat().st_size / 1024, 1),
        "functions": results,
    }
    print(json.dumps(summary, indent=2))
    return 1 if any(r["unzipped_mb"] > LIMIT_MB for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
