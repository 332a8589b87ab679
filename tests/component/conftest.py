"""Component fixtures shared by several modules."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    """A real Postgres (embedded pgserver) of the module's own, in a temporary data directory."""
    pgserver = pytest.importorskip("pgserver")
    with tempfile.TemporaryDirectory(prefix="pg-component-") as data_dir:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        yield server
        server.cleanup()
