"""The workflow with a reporting currency other than the sample's USD, as a user who changes that one line of
pipeline.yaml runs it: the rates, the conversion, the marts and the assertions all follow (here: EUR)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataplatform.local.platform import LocalPlatform
from tests.e2e.support import WINDOW, check_full_run, local_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform_eur() -> Iterator[LocalPlatform]:
    with local_platform("EUR") as running:
        yield running


def test_full_run_in_eur_matches_the_independent_recomputation_to_the_cent(platform_eur: LocalPlatform) -> None:
    assert platform_eur.config.reporting_currency == "EUR"
    result = platform_eur.run(window=WINDOW)
    check_full_run(platform_eur, result)
    quality = platform_eur.read_step(result.run_id, "_run", "quality")
    assert quality is not None and quality["errors"] == 0
