"""checkov findings accepted in the template: each on its resource, with the reason docs/checkov.md gives."""

from __future__ import annotations

from pathlib import Path

from infra.nag import (
    ACCESS_LOG_BUCKET_FINDING,
    API_CHECKOV_FINDINGS,
    HEALTH_ROUTE_CHECKOV_FINDING,
    LAMBDA_CHECKOV_FINDINGS,
)
from tests.infra.conftest import Synth

DOC = (Path(__file__).resolve().parents[2] / "docs" / "checkov.md").read_text(encoding="utf-8")
KNOWN = [LAMBDA_CHECKOV_FINDINGS, API_CHECKOV_FINDINGS, ACCESS_LOG_BUCKET_FINDING, HEALTH_ROUTE_CHECKOV_FINDING]


def test_every_accepted_finding_has_its_documented_reason(synth: Synth) -> None:
    accepted = 0
    for logical, resource in synth.template.to_json()["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert any(known.get(skip["id"]) == skip["comment"] for known in KNOWN), (logical, skip)
            assert f"| {skip['id']} |" in DOC and skip["comment"] in DOC
            accepted += 1
    functions = synth.resources("AWS::Lambda::Function", {"Handler": "handler.handler"})
    # every pipeline Lambda, the API Lambda (its own reasons), the access-log bucket, the /health route
    assert accepted == (len(functions) - 1) * len(LAMBDA_CHECKOV_FINDINGS) + len(API_CHECKOV_FINDINGS) + len(
        ACCESS_LOG_BUCKET_FINDING
    ) + len(HEALTH_ROUTE_CHECKOV_FINDING)
