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

# (action pattern, resource substring or "", role kind or "") -> why it stays although the local runs did not use it.
NEEDED_ON_AWS: list[tuple[str, str, str, str]] = [
    ("logs:*", "", "", "AWS: the Lambda runtime and Glue write the logs, not the code"),
    ("xray:*", "", "", "AWS: the Lambda runtime and Step Functions send the trace segments"),
    ("cloudwatch:PutMetricData", "", "job", "AWS: Glue publishes the job metrics"),
    (
        "glue:GetJobRun*",
        "",
        "state machine",
        "AWS: the `.sync` integration polls the job run (locally it runs in-process)",
    ),
    ("glue:BatchStopJobRun", "", "state machine", "AWS: Step Functions stops the job run when the execution stops"),
    ("athena:*", "", "state machine", "AWS: the `.sync` integration polls the query (locally the engine runs it)"),
    ("glue:*", "", "state machine", "AWS: Athena reads and creates catalog tables as the state machine"),
    ("s3:*", "", "state machine", "AWS: Athena reads the tables' data and writes results as the state machine"),
    ("kms:*", "", "state machine", "AWS: Athena and SNS use the lake key as the state machine"),
    ("lakeformation:GetDataAccess", "", "state machine", "AWS: Athena asks Lake Formation for data access"),
    (
        "lambda:InvokeFunction",
        ":*",
        "state machine",
        "AWS: versions and aliases of the functions (aws-cdk-lib's grant)",
    ),
    ("s3:*", "cdk-", "job", "AWS: Glue loads the job's script and package from the CDK asset bucket"),
    (
        "s3:*",
        "/curated/_staging/",
        "job",
        "AWS: the deployed job's partition swap stages there (the local runner "
        "stages on disk until the job reads and writes through S3A)",
    ),
    (
        "glue:*",
        "",
        "job",
        "the deployed job's catalog calls (the dependency tables: read through the Glue catalog once "
        "the curated zone is Iceberg)",
    ),
    ("sns:Publish", "", "state machine", "code path: the failure notification (tests/e2e, the failure test)"),
    (
        "s3:DeleteObject",
        "/raw/",
        "function",
        "code path: clearing a failed attempt of the same run, undoing a failed "
        "call (tests/e2e/test_permissions_e2e.py)",
    ),
    ("s3:AbortMultipartUpload", "", "", "code path: a failed multipart upload is aborted"),
    ("s3:DeleteObject", "", "job", "code path: the partition merge deletes files a re-run no longer writes"),
]
# Which S3 actions act on objects (arn:aws:s3:::bucket/key) and which on the bucket. A statement that lists both kinds
# of resource for both kinds of action yields pairs that can never match: they are not reported.
S3_OBJECT_ACTIONS = (
    "GetObject",
    "GetObjectVersion",
    "GetObjectTagging",
    "PutObject",
    "PutObjectTagging",
    "DeleteObject",
    "DeleteObjectVersion",
    "AbortMultipartUpload",
    "ListMultipartUploadParts",
)
S3_BUCKET_ACTIONS = (
    "ListBucket",
    "ListBucketVersions",
    "ListBucketMultipartUploads",
    "GetBucketLocation",
    "GetBucketAcl",
    "GetBucketPolicy",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetEncryptionConfiguration",
    "PutBucketNotification",
    "CreateBucket",
    "DeleteBucket",
)
GLUE_DATABASE_ACTIONS = ("getdatabase", "getdatabases", "createdatabase", "updatedatabase", "deletedatabase")


def applicable(action: str, resource: str) -> bool:
    """Whether `action` can ever be authorized against `resource` (object vs bucket, database vs table)."""
    service, _, name = action.partition(":")
    if service == "s3" and resource.startswith("arn:aws:s3:::"):
        known = [*S3_OBJECT_ACTIONS, *S3_BUCKET_ACTIONS]
        if not any(wildcard_match(name, a, ignore_case=True) for a in known):
            return True  # an action this table does not know: report it rather than hide it
        on_object = "/" in resource.removeprefix("arn:aws:s3:::")
        kinds = S3_OBJECT_ACTIONS if on_object else S3_BUCKET_ACTIONS
        return any(wildcard_match(name, a, ignore_case=True) for a in kinds)
    if service == "glue" and (":table/" in resource or ":userDefinedFunction/" in resource):
        return "*" in name or "?" in name or name.lower() not in GLUE_DATABASE_ACTIONS
    return True


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
                        if not applicable(action, resource):
                            continue
                        if not _used(allowed[arn], sid, action, resource):
                            found.append(
                                Unused(
                                    role.logical_id, kind, name, action, resource, _aws_reason(action, resource, kind)
                                )
                            )
    return found


def _grouped(unused: list[Unused]) -> list[str]:
    """One line per (role, action, reason): the resources joined."""
    groups: dict[tuple[str, str, str, str | None], list[str]] = defaultdict(list)
    for u in unused:
        groups[(u.role, u.kind, u.action, u.reason)].append(f"`{u.resource}`")
    lines = []
    for (role, kind, action, reason), resources in groups.items():
        why = f" | {reason}" if reason is not None else ""
        lines.append(f"| {role} ({kind}) | `{action}` | {'<br>'.join(resources)}{why} |")
    return lines


def render(unused: list[Unused], store: PolicyStore, rows: list[Json], sources: list[str]) -> str:
    roles = task_roles(store)
    ran = {row["role"] for row in rows if row.get("role")}
    candidates = [u for u in unused if u.reason is None]
    kept = [u for u in unused if u.reason is not None]
    lines = [
        "# Permissions the local runs never used",
        "",
        "Generated by `make permissions` (`python -m dataplatform.local.iam.unused`) from the IAM reports of "
        f"{', '.join(sources)}; do not edit by hand. A granted (action, resource) of a role is *used* when a call of "
        "that role was allowed by that statement with a matching action and resource (docs/local-runner.md, "
        '"Permissions"). Pairs that can never match (an object action on a bucket ARN, a database action on a '
        "table ARN) are left out.",
        "",
        f"Task roles that made calls: {len(ran & set(roles))} of {len(roles)}; checked calls: {len(rows):,}; "
        f"unused pairs: {len(candidates)} candidates for removal, {len(kept)} kept for a reason.",
        "",
        "## Candidates for removal",
        "",
        "No call of these runs used them, and no reason to keep them is known. Remove a grant only when no code path",
        "needs it (the e2e tests cover the failure and continuation paths the demo does not take).",
        "",
        "| role | action | resources |",
        "|---|---|---|",
        *(_grouped(candidates) or ["| (none) | | |"]),
        "",
        "## Not used by these runs, kept",
        "",
        "| role | action | resources | why |",
        "|---|---|---|---|",
        *_grouped(kept),
    ]
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
