"""Least privilege, measured: which granted (action, resource) pairs of each role no call in the reports used.

    python -m dataplatform.local.iam.unused REPORT.jsonl [REPORT.jsonl ...] [--config pipeline.yaml]
        [--out docs/permissions.md]

The template is synthesized again for the config (the roles' policies with their statement names). A pair counts
as used when an allowed call of that role was decided by that statement with a matching action and resource.
Pairs the local run cannot use because AWS itself makes those calls (the Lambda runtime's logs, Step Functions'
`.sync` polling, Athena reading tables on the state machine's behalf) are listed with the reason; the rest are
candidates for removal.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dataplatform.local.iam.evaluator import as_list, statement_id, wildcard_match
from dataplatform.local.iam.policies import PolicyStore, Role
from dataplatform.local.iam.report import Json, read_report

# (action pattern, resource substring or "", role kind or "") -> why AWS, not the code, needs it.
NEEDED_ON_AWS: list[tuple[str, str, str, str]] = [
    ("logs:*", "", "", "the Lambda runtime and Glue write the logs, not the code"),
    ("xray:*", "", "", "tracing: the Lambda runtime and Step Functions send the segments"),
    ("cloudwatch:PutMetricData", "", "job", "Glue publishes the job metrics"),
    ("glue:GetJobRun*", "", "state machine", "the `.sync` integration polls the job run (locally it runs in-process)"),
    ("glue:BatchStopJobRun", "", "state machine", "Step Functions stops the job run when the execution is stopped"),
    ("athena:*", "", "state machine", "the `.sync` integration polls the query (locally the engine runs it directly)"),
    ("glue:*", "", "state machine", "Athena reads and creates catalog tables on the state machine's behalf"),
    ("s3:*", "", "state machine", "Athena reads the tables' data and writes results on the state machine's behalf"),
    ("kms:*", "", "state machine", "Athena and SNS use the lake key on the state machine's behalf"),
    ("lakeformation:GetDataAccess", "", "state machine", "Athena asks Lake Formation for data access"),
    ("lambda:InvokeFunction", ":*", "state machine", "versions and aliases of the functions (aws-cdk-lib's grant)"),
    ("s3:AbortMultipartUpload", "", "", "the failure path of a multipart upload (raw writer's abort)"),
]


@dataclass(frozen=True)
class Unused:
    role: str
    kind: str
    policy: str
    action: str
    resource: str
    reason: str | None
    """Why AWS needs it although the local run did not use it; None: a candidate for removal."""


def task_roles(store: PolicyStore) -> dict[str, str]:
    """Role ARN -> what runs as it (function, job, state machine)."""
    kinds = {arn: "function" for arn in store.function_roles.values()}
    kinds.update({arn: "job" for arn in store.job_roles.values()})
    kinds.update({arn: "state machine" for arn in store.state_machine_roles.values()})
    return kinds


def _used(rows: list[Json], sid: str, action: str, resource: str) -> bool:
    return any(
        sid in row.get("matched", [])
        and wildcard_match(action, str(row["action"]), ignore_case=True)
        and wildcard_match(resource, str(row["resource"]))
        for row in rows
    )


def _aws_reason(action: str, resource: str, kind: str) -> str | None:
    for pattern, fragment, role_kind, reason in NEEDED_ON_AWS:
        if wildcard_match(pattern, action, ignore_case=True) and fragment in resource and role_kind in ("", kind):
            return reason
    return None


def unused_permissions(store: PolicyStore, rows: Iterable[Json]) -> list[Unused]:
    allowed: dict[str, list[Json]] = defaultdict(list)
    ran = set()
    for row in rows:
        ran.add(row.get("role"))
        if row.get("decision") == "Allow" and row.get("role"):
            allowed[row["role"]].append(row)
    found = []
    for arn, kind in sorted(task_roles(store).items()):
        if arn not in ran:
            continue  # made no call in these runs: not measured (see render)
        role: Role = store.roles[arn]
        for name, document in role.policies:
            for statement in as_list(document.get("Statement")):
                if statement.get("Effect") != "Allow" or "Action" not in statement or "Resource" not in statement:
                    continue
                sid = statement_id(name, statement)
                for action in as_list(statement["Action"]):
                    for resource in as_list(statement["Resource"]):
                        if not _used(allowed[arn], sid, action, resource):
                            found.append(
                                Unused(
                                    role.logical_id, kind, name, action, resource, _aws_reason(action, resource, kind)
                                )
                            )
    return found


def render(unused: list[Unused], store: PolicyStore, rows: list[Json], sources: list[str]) -> str:
    roles = task_roles(store)
    ran = {row["role"] for row in rows if row.get("role")}
    lines = [
        "# Permissions the local runs never used",
        "",
        "Generated by `make permissions` (`python -m dataplatform.local.iam.unused`) from the IAM reports of "
        f"{', '.join(sources)}; do not edit by hand. A role's grant is *used* when a call of that role was allowed "
        'by that statement with a matching action and resource (docs/local-runner.md, "Permissions").',
        "",
        f"Roles that ran: {len(ran & set(roles))} of {len(roles)} task roles; checked calls: {len(rows):,}.",
        "",
        "## Candidates for removal",
        "",
        "| role | action | resource |",
        "|---|---|---|",
    ]
    candidates = [u for u in unused if u.reason is None]
    lines += [f"| {u.role} | `{u.action}` | `{u.resource}` |" for u in candidates] or ["| (none) | | |"]
    lines += ["", "## Not used locally, needed on AWS", "", "| role | action | resource | why |", "|---|---|---|---|"]
    lines += [f"| {u.role} | `{u.action}` | `{u.resource}` | {u.reason} |" for u in unused if u.reason is not None]
    never = sorted(store.roles[arn].logical_id for arn in roles if arn not in ran)
    others = sorted(r.logical_id for arn, r in store.roles.items() if arn not in roles)
    lines += ["", "## Not measured", ""]
    lines += [f"- task roles that made no call in these runs: {', '.join(never) or 'none'}"]
    lines += [f"- roles no local task runs as (schedule, events, deploy-time handlers): {', '.join(others) or 'none'}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--config", type=Path, default=Path("pipeline.yaml"))
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[3])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    from dataplatform.local.template import ACCOUNT, REGION, Resolver, synthesize

    rows = [row for path in args.reports for row in read_report(path)]
    synthesized = synthesize(args.root.resolve(), args.config.resolve())
    store = PolicyStore.from_template(Resolver(synthesized.template, synthesized.stack_name), ACCOUNT, REGION)
    text = render(unused_permissions(store, rows), store, rows, [p.name for p in args.reports])
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
