"""End-to-end fixtures: a whole local platform (moto, pgserver, local APIs, Spark, DuckDB) per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataplatform.local.runner import LocalOptions, LocalPlatform
from tests.e2e.support import E2E_SCALE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    options = LocalOptions(root=ROOT, lake_dir=tmp_path_factory.mktemp("lake"), scale=E2E_SCALE, fresh=True)
    with LocalPlatform(options) as running:
        yield running
