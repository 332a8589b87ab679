"""Money precision of the whole local workflow against an independent recomputation (tests/e2e/money.py).

    python bench/money_precision.py [--currency EUR] [--scale 1]

Runs the sample pipeline (pipeline.yaml with `reporting_currency` replaced by --currency) in a temporary lake and
prints one JSON object: the largest per-row and per-day difference of `marts.sales_reporting.amount_reporting`
from the Decimal recomputation of the documented rounding rule, and how many rows are off by a cent or more.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataplatform.local.platform import LocalOptions, LocalPlatform  # noqa: E402
from tests.e2e.money import differences, reporting_lines  # noqa: E402
from tests.e2e.support import WINDOW, expected_orders, pipeline_with_currency  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="money-precision-"))
    try:
        config = pipeline_with_currency(work / "pipeline", args.currency)
        options = LocalOptions(
            config=config, lake_dir=work / "lake", scale=args.scale, fresh=True, sample_services=True
        )
        with LocalPlatform(options) as platform:
            result = platform.run(window=WINDOW)
            if result.status != "SUCCEEDED":
                raise SystemExit(f"run failed: {result.error}: {result.cause}")
            engine = platform.dispatcher.athena_engine()
            rows = engine.execute(
                "SELECT source, transaction_id, amount_reporting, reporting_currency FROM marts.sales_reporting"
            ).rows
            assert platform.sample is not None
            expected = reporting_lines(expected_orders(platform.sample), args.currency)
        assert {r[3] for r in rows} == {args.currency}, "rows in another reporting currency"
        actual = {(r[0], r[1]): r[2] for r in rows}
        print(json.dumps({"reporting_currency": args.currency, **differences(expected, actual)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
