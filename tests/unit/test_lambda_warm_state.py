"""In-process Lambda handlers cache clients like a warm container; a new local platform must not inherit them."""

from __future__ import annotations

import pytest

from dataplatform.ingest import lambda_support


def test_reset_warm_state_drops_clients_bound_to_an_earlier_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111")
    lambda_support.reset_warm_state()
    first, _ = lambda_support._clients()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2222")
    assert lambda_support._clients()[0] is first  # warm: the same client, still on the old endpoint
    lambda_support.reset_warm_state()
    second, _ = lambda_support._clients()
    assert first.meta.endpoint_url == "http://127.0.0.1:1111"
    assert second.meta.endpoint_url == "http://127.0.0.1:2222"
    lambda_support.reset_warm_state()
