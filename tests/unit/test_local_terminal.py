"""Local run output: fits a 100-column terminal, wide one-row marts as name/value pairs, and process output
(including what child processes write to fd 1/2) captured in the log file."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from dataplatform.local.execution import RunResult
from dataplatform.local.progress import summary_table
from dataplatform.local.terminal import CapturedOutput, rows_renderable


def render(renderable: object, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def result_with(datasets: list[str]) -> RunResult:
    row = {
        "status": "SUCCEEDED",
        "raw_rows": 1_234_567,
        "curated_rows": 1_234_000,
        "quarantined_rows": 560,
        "duplicate_rows": 7,
        "duration_s": 123.4,
    }
    return RunResult(
        "SUCCEEDED", "arn", "20231227-20240331-0123456789", 61.2, None, None, None, dict.fromkeys(datasets, row), {}
    )


def test_summary_fits_100_columns_without_cutting_words() -> None:
    text = render(summary_table(result_with(["exchange_rates", "transactions", "customers"])))
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "…" not in text
    for word in ("exchange_rates", "quarantined", "duplicates", "1,234,567"):
        assert word in text


def test_wide_one_row_mart_prints_as_name_value_pairs() -> None:
    columns = ["currency", "total_revenue", "orders", "customers", "products", "total_quantity", "avg_order_value",
               "first_order_date", "last_order_date", "vip_customers"]  # fmt: skip
    row = ("USD", "362871.33", 1897, 149, 40, 5212, "191.29", "2024-01-02", "2024-03-28", 14)
    console = Console(file=io.StringIO(), width=100)
    text = render(rows_renderable(console, "marts.kpi_summary", columns, [row]))
    assert "…" not in text
    lines = text.splitlines()
    assert any("total_revenue" in line and "362871.33" in line for line in lines)
    assert any("first_order_date" in line and "2024-01-02" in line for line in lines)


def test_narrow_rows_stay_a_table() -> None:
    console = Console(file=io.StringIO(), width=100)
    rows = [("2024-01-02", "3237.54", 18), ("2024-01-03", "100.00", 2)]
    text = render(rows_renderable(console, "marts.daily_revenue", ["order_date", "revenue", "orders"], rows))
    header = next(line for line in text.splitlines() if "order_date" in line)
    assert "revenue" in header and "orders" in header


def test_captured_output_sends_child_process_and_python_output_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    script = f"""
import subprocess, sys, logging
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from dataplatform.local.terminal import CapturedOutput
with CapturedOutput(__import__("pathlib").Path({str(log)!r})) as captured:
    print("python stdout noise")
    logging.getLogger("x").warning("a warning")
    subprocess.run(["sh", "-c", "echo jvm-like noise >&2"])
    captured.terminal().write("progress line\\n")
print("after")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert proc.stdout == "progress line\nafter\n"
    assert proc.stderr == ""
    logged = log.read_text()
    for noise in ("python stdout noise", "a warning", "jvm-like noise"):
        assert noise in logged


def test_disabled_capture_leaves_output_alone(tmp_path: Path) -> None:
    with CapturedOutput(tmp_path / "x.log", enabled=False) as captured:
        assert captured.terminal() is sys.stdout
    assert not (tmp_path / "x.log").exists()


def test_a_rejected_file_is_a_warning_line_with_its_reason(tmp_path: Path) -> None:
    from dataplatform.local.local_run import _print_outcome
    from dataplatform.local.platform import LocalOptions
    from dataplatform.local.progress import result_json

    result = result_with(["sales"])
    reason = "s3://raw/landing/sales/bad.csv: line 3: column 'Price': bytes are not valid utf-8 (invalid start byte)"
    moved = "s3://raw/rejected/sales/ingest_date=2024-01-01/run_id=r/bad.csv"
    result.datasets["sales"] = {**result.datasets["sales"], "rejected": [{"reason": reason, "moved_to": moved}]}
    console = Console(file=io.StringIO(), width=100, record=True, color_system=None)
    _print_outcome(console, result, {}, tmp_path / "run.log", LocalOptions())
    text = " ".join(console.export_text().split())
    assert f"warning: sales: file rejected (moved to {moved}): {reason}" in text
    assert result_json(result)["datasets"]["sales"]["rejected"][0]["reason"] == reason
