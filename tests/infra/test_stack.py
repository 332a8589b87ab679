"""How the stack wires its constructs together."""

from __future__ import annotations

from tests.infra.conftest import Synth


def test_named_queries_wait_for_the_workgroup(synth: Synth) -> None:
    workgroups = synth.resources("AWS::Athena::WorkGroup")
    assert len(workgroups) == 1
    (workgroup_id,) = workgroups
    named = synth.resources("AWS::Athena::NamedQuery")
    assert named, "the stack has no Athena named queries"
    for logical_id, query in named.items():
        # A Ref creates the dependency; a plain name string would let CloudFormation race the workgroup.
        assert query["Properties"]["WorkGroup"] == {"Ref": workgroup_id}, logical_id
