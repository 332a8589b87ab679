"""End-to-end fixtures: a whole local platform (moto, pgserver, local APIs, Spark, DuckDB) per test module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplatform.local.platform import LocalOptions, LocalPlatform
from tests.e2e.support import E2E_SCALE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    # Not tmp_path_factory: pytest prunes old basetemp directories of the same user, and another pytest process
    # on the machine can delete ours (with pgserver's data directory) while this long module is still running.
    lake_dir = Path(tempfile.mkdtemp(prefix="dataplatform-e2e-"))
    try:
        options = LocalOptions(root=ROOT, lake_dir=lake_dir, scale=E2E_SCALE, fresh=True, sample_services=True)
        with LocalPlatform(options) as running:
            yield running
    finally:
        shutil.rmtree(lake_dir, ignore_errors=True)
