"""Docker-free asset building: Lambda bundle contents, wheel platform, cache, pruning and the Glue zip."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from infra import bundling
from infra.bundling import LocalPythonBundler, dataplatform_zip, install_wheels, lambda_asset_hash, runtime_files
from tests.infra.conftest import ROOT, project_copy


def _function(root: Path, requirements: str | None = None) -> Path:
    function_dir = root / "lambdas" / "probe"
    function_dir.mkdir(parents=True)
    (function_dir / "handler.py").write_text(
        "from dataplatform.config import load_config\n\ndef handler(event, context):\n    return event\n"
    )
    (function_dir / "__pycache__").mkdir()
    (function_dir / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"stale")
    if requirements is not None:
        (function_dir / "requirements.txt").write_text(requirements)
    return function_dir


def test_bundle_holds_handler_package_and_config_without_bytecode(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "project")
    function_dir = _function(root)
    out = tmp_path / "out"
    out.mkdir()
    assert LocalPythonBundler(root, function_dir, root / "pipeline.yaml").try_bundle(str(out)) is True
    assert "def handler" in (out / "handler.py").read_text()
    assert (out / "pipeline.yaml").read_text() == (root / "pipeline.yaml").read_text()
    assert (out / "dataplatform" / "config" / "models.py").is_file()
    assert not list(out.rglob("__pycache__")) and not list(out.rglob("*.pyc"))


def test_wheels_are_cpython312_manylinux_x86_64(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("PyYAML==6.0.3\n")
    target = tmp_path / "bundle"
    install_wheels(requirements, target, tmp_path / "cache")
    # The compiled extension is the Lambda platform's, not the host's (3.11 here): no compiler, no Docker.
    extensions = sorted(p.name for p in (target / "yaml").glob("_yaml*.so"))
    assert extensions == ["_yaml.cpython-312-x86_64-linux-gnu.so"]
    assert not list(target.rglob("*.pyc"))  # --no-compile: host bytecode would be useless on 3.12


def test_cached_wheels_are_reused_and_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pyarrow==26.0.1\n")
    calls: list[list[str]] = []

    def fake_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        target = Path(command[command.index("--target") + 1])
        for name in ("__init__.py", "libarrow.so.2600", "libarrow_flight.so.2600", "_flight.cpython-312-x.so"):
            (target / "pyarrow").mkdir(exist_ok=True)
            (target / "pyarrow" / name).write_bytes(b"x")
        (target / "pyarrow" / "include" / "arrow").mkdir(parents=True)
        (target / "pyarrow" / "include" / "arrow" / "api.h").write_bytes(b"x")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(bundling.subprocess, "run", fake_pip)
    for attempt in ("first", "second"):
        install_wheels(requirements, tmp_path / attempt, tmp_path / "cache")
        assert sorted(p.name for p in (tmp_path / attempt / "pyarrow").iterdir()) == ["__init__.py", "libarrow.so.2600"]
    assert len(calls) == 1  # the second bundle came from the cache
    platforms = [calls[0][i + 1] for i, arg in enumerate(calls[0]) if arg == "--platform"]
    assert platforms == ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]
    assert "--only-binary=:all:" in calls[0]
    assert calls[0][calls[0].index("--python-version") + 1] == "3.12"


def test_pip_failure_names_the_requirements_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("no-such-package==0\n")

    def failing_pip(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution found for no-such-package==0"
        )

    monkeypatch.setattr(bundling.subprocess, "run", failing_pip)
    with pytest.raises(RuntimeError, match=r"pip could not install .*requirements\.txt for .*\n.*no-such-package"):
        install_wheels(requirements, tmp_path / "bundle", tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())  # no half-written cache entry


def test_glue_zip_is_deterministic_and_importable_layout(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "project")
    script = root / "glue_jobs" / "standardize_job.py"
    first = dataplatform_zip(root, script)
    data = first.read_bytes()
    first.unlink()
    assert dataplatform_zip(root, script).read_bytes() == data  # same content, same bytes: a stable asset hash
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
    assert "dataplatform/__init__.py" in names and "dataplatform/config/models.py" in names
    assert "dataplatform/transform/standardize_dataset.py" in names
    assert all(n.startswith("dataplatform/") and "__pycache__" not in n for n in names)
    assert not [n for n in names if n.startswith("dataplatform/local/") or n == "dataplatform/local/cli.py"]


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# edit\n")


def test_asset_hash_follows_the_runtime_modules_not_the_local_tooling(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "project")

    def asset_hash() -> str:
        return lambda_asset_hash(root, "ingest_csv", root / "pipeline.yaml")

    before = asset_hash()
    for tooling in ("local/platform.py", "local/sfn_dispatch.py", "local/cli.py", "local/athena/engine.py"):
        _edit(root / "dataplatform" / tooling)
    assert asset_hash() == before  # developer tooling is not in the bundle: no redeploy
    _edit(root / "dataplatform" / "layout.py")
    assert asset_hash() != before


@pytest.mark.parametrize("function", sorted(p.name for p in (ROOT / "lambdas").iterdir() if p.is_dir()))
def test_lambda_bundles_carry_no_developer_tooling(function: str) -> None:
    files = [f.relative_to(ROOT).as_posix() for f in runtime_files(ROOT, ROOT / "lambdas" / function / "handler.py")]
    assert "dataplatform/__init__.py" in files
    tooling = [f for f in files if f.startswith("dataplatform/local/") or f in DEVELOPER_TOOLING]
    assert tooling == []


DEVELOPER_TOOLING = (
    "dataplatform/local/cli.py",
    "dataplatform/local/athena/engine.py",
    "dataplatform/local/athena/query_command.py",
)


def test_the_api_bundle_carries_the_console_templates_and_assets() -> None:
    files = {f.relative_to(ROOT).as_posix() for f in runtime_files(ROOT, ROOT / "lambdas" / "api" / "handler.py")}
    console = "dataplatform/console/"
    assert {f"{console}templates/run.html", f"{console}static/console.js", f"{console}routes.py"} <= files
    assert f"{console}static/vendor/uPlot.iife.min.js" in files  # copied from node_modules by `make setup`


def test_a_bundled_folder_is_copied_and_hashed(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "project")
    sql = ((root / "sql", "sql"),)
    before = lambda_asset_hash(root, "api", root / "pipeline.yaml", sql)
    assert before != lambda_asset_hash(root, "api", root / "pipeline.yaml")
    _edit(root / "sql" / "marts" / "daily_revenue.sql")
    assert lambda_asset_hash(root, "api", root / "pipeline.yaml", sql) != before  # a new mart redeploys the API
