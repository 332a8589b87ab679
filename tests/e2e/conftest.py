"""End-to-end fixtures: a whole local platform (moto, pgserver, local APIs, Spark, DuckDB) per test module.

`E2E_REPORTING_CURRENCY=EUR pytest tests/e2e` runs the suite on a copy of the sample pipeline.yaml with that
reporting currency (by default the sample's own file, USD); test_reporting_currency_e2e.py always runs one in EUR.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from dataplatform.local.platform import LocalPlatform
from tests.e2e.support import local_platform


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with local_platform(os.environ.get("E2E_REPORTING_CURRENCY")) as running:
        yield running
