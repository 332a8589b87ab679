"""RuntimeSettings: the deployed config path is read from the code root the runtime names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplatform.settings import RuntimeSettings


def settings(pipeline_config: str) -> RuntimeSettings:
    return RuntimeSettings(raw_bucket="r", curated_bucket="c", pipeline_config=pipeline_config)


def test_the_deployed_path_follows_the_task_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/tmp/lambda/task-1/code")  # LocalStack's host-mode executor
    assert settings("/var/task/pipeline.yaml").config_path == Path("/tmp/lambda/task-1/code/pipeline.yaml")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # AWS
    assert settings("/var/task/pipeline.yaml").config_path == Path("/var/task/pipeline.yaml")
    assert settings("/etc/shop/pipeline.yaml").config_path == Path("/etc/shop/pipeline.yaml")


def test_without_a_task_root_the_path_is_used_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert settings("/var/task/pipeline.yaml").config_path == Path("/var/task/pipeline.yaml")
    assert settings("pipeline.yaml").config_path == Path("pipeline.yaml")
