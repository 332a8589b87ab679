from __future__ import annotations

import pytest

from tests.api.support import ServedApi, build_lake, serve_lake


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> ServedApi:
    """The API over the fixture lake (built once; the tests only read it)."""
    served = serve_lake(build_lake(tmp_path_factory.mktemp("lake")))
    yield served
    served.engine.close()
