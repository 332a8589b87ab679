"""The browser tests' lake: the demo run (sample sources, every dataset) and then a run that fails (the customer
API answers 400), both through the real local workflow. Built once per session; `CONSOLE_TEST_LAKE` names a lake
built earlier to reuse (it is built there when missing)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dataplatform.local.execution import RunResult
from dataplatform.local.platform import LocalOptions, LocalPlatform
from dataplatform.local.sample_data import DEFAULT_WINDOW

ROOT = Path(__file__).resolve().parents[2]
SCALE = 0.2
FAILED_WINDOW = ("2024-04-01", "2024-04-02")
SUMMARY = "console-test-runs.json"


@dataclass(frozen=True)
class DemoLake:
    lake_dir: Path
    demo: dict[str, Any]  # the succeeded demo run: RunResult fields (run_id, datasets with their counts, ...)
    failed: dict[str, Any]  # the failed run


def _plain(result: RunResult) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(result), default=str))


def build_demo_lake(lake_dir: Path) -> DemoLake:
    summary = lake_dir / SUMMARY
    if summary.is_file():
        return DemoLake(lake_dir, **json.loads(summary.read_text()))
    options = LocalOptions(root=ROOT, lake_dir=lake_dir, scale=SCALE, fresh=True, sample_services=True)
    with LocalPlatform(options) as platform:
        demo = platform.run(window=(DEFAULT_WINDOW[0].isoformat(), DEFAULT_WINDOW[1].isoformat()))
        assert demo.status == "SUCCEEDED", demo.cause
        platform.customer_api.faults.fail_times, platform.customer_api.faults.fail_status = 1000, 400
        failed = platform.run(window=FAILED_WINDOW, datasets=["customers"])
        assert failed.status == "FAILED"
    runs = {"demo": _plain(demo), "failed": _plain(failed)}
    summary.write_text(json.dumps(runs))
    return DemoLake(lake_dir, **runs)


if __name__ == "__main__":
    import sys

    print(build_demo_lake(Path(sys.argv[1])).demo["run_id"])
