"""`dataplatform demo` and `dataplatform run --local`: check the input, run once, print what a person needs.

Bad input (config, dataset selection, secrets) fails before anything is written to the lake. During the run,
everything the JVM, Node, moto and the handlers print goes to `<lake>/logs/<run>.log`; the terminal gets the
progress, the summary and the marts (`--verbose` shows the log live instead).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dataplatform.config import ConfigError, load_config
from dataplatform.local.execution import RunResult
from dataplatform.local.iam.report import Summary
from dataplatform.local.lake_store import resolve_lake_dir
from dataplatform.local.local_secrets import LocalSecretError, default_secrets_file, resolve_secrets
from dataplatform.local.platform import LocalOptions, LocalPlatform
from dataplatform.local.terminal import CapturedOutput, console_for, rows_renderable
from dataplatform.workflow.run import select_datasets

logger = logging.getLogger(__name__)


class InputError(ValueError):
    """Bad input to a local command: one line naming the file, dataset or secret."""


@dataclass(frozen=True)
class LocalRunRequest:
    options: LocalOptions
    window: tuple[str, str] | None = None
    datasets: list[str] | None = None
    as_json: bool = False
    verbose: bool = False
    show_marts: tuple[str, ...] = ("kpi_summary", "daily_revenue")
    write_report: bool = False
    """Also write the run's console page as a self-contained HTML file under `<lake>/reports/` (the demo does)."""


def preflight(options: LocalOptions, datasets: list[str] | None) -> None:
    """Everything about the input that can be wrong, checked before the lake is touched."""
    try:
        config = load_config(options.config_file)
    except ConfigError as exc:
        raise InputError("\n".join(exc.messages)) from None
    try:
        select_datasets(config, datasets)
    except ValueError as exc:
        raise InputError(f"--datasets: {exc}") from None
    if not options.sample_services:
        try:
            resolve_secrets(config, options.secrets_file or default_secrets_file(options.config_file))
        except LocalSecretError as exc:
            raise InputError(str(exc)) from None


def log_path_for(lake_dir: Path) -> Path:
    return lake_dir / "logs" / f"run-{time.strftime('%Y%m%dT%H%M%S')}.log"


def run_locally(request: LocalRunRequest) -> int:
    """Exit code: 0 succeeded, 1 the run failed. Bad input raises InputError before anything is written."""
    preflight(request.options, request.datasets)
    lake_dir = resolve_lake_dir(request.options.lake_dir)
    options = request.options
    if options.fresh:  # before the log file opens inside the lake
        shutil.rmtree(lake_dir, ignore_errors=True)
        options = replace(options, fresh=False)
    from dataplatform.local.progress import LineProgress, LiveProgress, result_json, summary_table

    log_path = log_path_for(lake_dir)
    with CapturedOutput(log_path, enabled=not request.verbose) as captured:
        console = console_for(captured.terminal(stderr=request.as_json))
        platform = LocalPlatform(options)
        names = request.datasets or list(load_config(request.options.config_file).datasets)
        live = LineProgress(console) if request.verbose else LiveProgress(console, names)
        platform.listeners.append(live.on_event)
        try:
            with live if isinstance(live, LiveProgress) else nullcontext(), platform:
                result = platform.run(window=request.window, datasets=request.datasets)
                marts = {n: platform.mart_rows(n, 5) for n in request.show_marts if n in result.marts}
                iam = platform.iam.summary()
        except Exception as exc:
            logger.exception("local run failed")
            console.line()
            console.print(f"local run failed: {type(exc).__name__}: {exc}", markup=False)
            console.print(f"log: {log_path}", markup=False)
            return 1
        if request.as_json:
            out = captured.terminal()
            summary = {**result_json(result), "iam": iam_json(iam, options), "log": str(log_path)}
            out.write(json.dumps(summary, indent=2, default=str) + "\n")
            return 0 if result.status == "SUCCEEDED" else 1
        console.print(summary_table(result))
        _print_outcome(console, result, marts, log_path, request.options)
        _print_iam(console, iam, options)
        if request.write_report and result.run_id:
            from dataplatform.local.report import write_report

            report = lake_dir / "reports" / f"run-{result.run_id}.html"
            write_report(options.config_file, lake_dir, report, result.run_id)
            console.print(f"run report: {report}", markup=False)
    return 0 if result.status == "SUCCEEDED" else 1


def iam_json(summary: Summary, options: LocalOptions) -> dict[str, Any]:
    return {
        "mode": options.iam,
        "checked": summary.checked,
        "denied": summary.denied,
        "denials": summary.denials[:20],
        "unmapped": summary.unmapped,
        "report": str(options.iam_report) if options.iam_report else None,
    }


def _print_iam(console: Any, summary: Summary, options: LocalOptions) -> None:
    if options.iam == "off":
        console.print("IAM: not checked (DATAPLATFORM_LOCAL_IAM=off)", markup=False)
        return
    console.print(summary.line() + (" (audit mode: not enforced)" if options.iam == "audit" else ""), markup=False)
    for denial in summary.denials[:10]:
        role = str(denial.get("role") or "-").rsplit("/", 1)[-1]
        console.print(
            f"  denied: {role} {denial.get('action') or denial.get('operation')} {denial.get('resource') or ''}",
            markup=False,
        )
    if options.iam_report:
        console.print(f"IAM report: {options.iam_report}", markup=False)


def _print_outcome(
    console: Any, result: RunResult, marts: dict[str, Any], log_path: Path, options: LocalOptions
) -> None:
    if result.failure:
        failure = result.failure
        console.print(f"[bold red]failed at {failure['step']}[/]: {failure['error']}")
        console.print(str(failure["cause"]), markup=False, soft_wrap=False)
    elif result.status != "SUCCEEDED":
        console.print(f"[bold red]{result.error}[/]: {result.cause}")
    for name, d in result.datasets.items():
        for rejected in d.get("rejected") or []:
            where = f" (moved to {rejected['moved_to']})" if rejected.get("moved_to") else ""
            console.print(f"[yellow]warning[/]: {name}: file rejected{where}: ", end="")
            console.print(rejected["reason"], markup=False, soft_wrap=True)
    if result.marts:
        counts = "  ".join(f"{name} {rows:,}" for name, rows in sorted(result.marts.items()))
        console.print(f"marts (rows): {counts}", markup=False)
    for name, (columns, rows) in marts.items():
        console.print(rows_renderable(console, f"marts.{name}", columns, rows))
    config_hint = "" if options.config is None else f" --config {options.config}"
    console.print(f"log: {log_path}", markup=False)
    console.print(f'query it: dataplatform query{config_hint} "SELECT * FROM curated.<dataset> LIMIT 10"', markup=False)
    lake_hint = "" if options.lake_dir is None else f" --lake-dir {options.lake_dir}"
    console.print(f"serve the HTTP API and the run console over it: dataplatform serve{config_hint}{lake_hint}"
                  "  (then open the console URL it prints)", markup=False)  # fmt: skip
