"""README's "Your first pipeline", as a newcomer runs it: the installed `dataplatform` script, from a folder
outside the repository, on the files and commands the README shows."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.readme_walkthrough import walkthrough

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "dataplatform"


def newcomer_env() -> dict[str, str]:
    """A clean shell: no lake or AWS settings leaking in from the test process."""
    drop = ("DATAPLATFORM_", "AWS_", "MOTO_", "PIPELINE_CONFIG", "RAW_BUCKET", "CURATED_BUCKET")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, env=newcomer_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run the walkthrough once; returns each `dataplatform` command's result, keyed by the command line."""
    guide = walkthrough()
    home = tmp_path_factory.mktemp("newcomer")
    for relative, content in guide.files.items():
        target = home / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    cwd = home
    results: dict[str, subprocess.CompletedProcess[str]] = {}
    for line in guide.commands:
        words = shlex.split(line)
        if words[0] == "cd":
            cwd = (cwd / words[1]).resolve()
        elif words[0] == "mkdir":
            (cwd / words[-1]).mkdir(parents=True, exist_ok=True)
        elif words[0] == "dataplatform" and "--aws" not in words:
            results[line] = result = run_cli(words[1:], cwd)
            assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        else:
            assert words[0] in ("source", "npx", "dataplatform"), f"the test does not know how to run: {line}"
    return results


def _output_of(results: dict[str, subprocess.CompletedProcess[str]], starts: str) -> str:
    (found,) = [r.stdout for line, r in results.items() if line.startswith(starts)]
    return found


def test_walkthrough_runs_every_command(walked: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert any(line.startswith("dataplatform run --local") for line in walked)
    run_output = _output_of(walked, "dataplatform run --local")
    assert "SUCCEEDED" in run_output
    assert all(len(line) <= 100 for line in run_output.splitlines()), run_output
    assert "WARN" not in run_output and "b'" not in run_output  # JVM and Node noise went to the log


def test_quarantine_names_the_rejected_rows_and_rules(walked: dict[str, subprocess.CompletedProcess[str]]) -> None:
    out = _output_of(walked, 'dataplatform query "SELECT order_id, order_date, amount, reason')
    assert "O1002" in out and "amount:non_negative" in out
    assert "O1003" in out and "order_date:cast" in out
    assert "O1001" not in out


def test_curated_and_mart_hold_the_accepted_rows(walked: dict[str, subprocess.CompletedProcess[str]]) -> None:
    curated = _output_of(walked, 'dataplatform query "SELECT order_id, order_date, amount FROM curated.orders')
    assert [w for w in ("O1001", "O1002", "O1003", "O1004") if w in curated] == ["O1001", "O1004"]
    mart = _output_of(walked, 'dataplatform query "SELECT * FROM marts.daily_orders')
    assert "19.90" in mart and "12.00" in mart and "2024-05-02" in mart


def test_deploy_step_synthesizes_the_walkthrough_pipeline(tmp_path: Path) -> None:
    """Step 7 (`cdk deploy -c pipeline_config=...`): the same app, built for the walkthrough's config."""
    from infra.app_builder import build_app, cdk_json_context

    guide = walkthrough()
    for relative, content in guide.files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content, encoding="utf-8")
    context = {**cdk_json_context(ROOT), "aws:cdk:bundling-stacks": []}
    app = build_app(context, validation=False, config_file=tmp_path / "my-shop" / "pipeline.yaml")
    template = app.synth().stacks[0].template
    jobs = [r for r in template["Resources"].values() if r["Type"] == "AWS::Glue::Job"]
    assert [j["Properties"]["Name"] for j in jobs] == ["my-shop-standardize-orders", "my-shop-publish"]
    queries = [
        r["Properties"]["Name"] for r in template["Resources"].values() if r["Type"] == "AWS::Athena::NamedQuery"
    ]
    assert queries == ["my-shop-view-daily_orders"]
