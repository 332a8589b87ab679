"""IAM policy evaluation for one request: the same-account subset a CDK stack's policies need (local runs only).

Order (AWS "policy evaluation logic" for a principal and a resource in one account, without SCPs, permission
boundaries or session policies, which the template has none of):
  1. a matching Deny in an identity policy or in the resource's policy   -> explicit deny
  2. KMS keys: the key policy must allow, either the principal itself or the account root (delegation to IAM, which
     then needs an identity Allow as well)
  3. a matching Allow in the resource's policy that names the principal  -> allow
  4. a matching Allow in an identity policy                               -> allow
  5. otherwise                                                             -> implicit deny

Statements: Action/NotAction match case-insensitively, Resource/NotResource case-sensitively; `*` is any run of
characters (also across `/` and `:`), `?` exactly one, everything else literal. Policy variables (`${aws:username}`)
are substituted from the request context. Conditions: the operators in OPERATORS, `...IfExists`, `ForAnyValue:` /
`ForAllValues:` and `Null`. A key missing from the context makes a condition false, except for negated operators
(`StringNotLike` etc.), `...IfExists`, `Null` and `ForAllValues:`, as AWS documents. An operator this module does not
know raises UnsupportedPolicy: a policy we cannot read must stop the run, never be decided by a guess.

Hand-written on purpose: no maintained, permissively licensed evaluator exists on PyPI (see docs/local-runner.md).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

Json = dict[str, Any]


class UnsupportedPolicy(ValueError):
    """The policy uses something this evaluator does not implement (an unknown condition operator)."""


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=8192)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard rule: `*` any run of characters, `?` one character, the rest literal."""
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_UNRESOLVED = "\x00unresolved-policy-variable\x00"  # matches nothing, as AWS treats a missing variable


def _context_value(context: Json, key: str) -> Any:
    if key in context:
        return context[key]
    lowered = key.lower()  # condition keys are case-insensitive
    return next((v for k, v in context.items() if k.lower() == lowered), None)


def substitute(pattern: str, context: Json) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("*", "?", "$"):
            return name
        value = _context_value(context, name)
        return _UNRESOLVED if value is None else str(value)

    return _VARIABLE.sub(replace, pattern)


# ---------------------------------------------------------------- condition operators
def _number(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda expected, actual: compare(float(actual), float(expected))


def _date(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, str], bool]:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return lambda expected, actual: compare(parse(actual), parse(expected))


def _ip(expected: str, actual: str) -> bool:
    return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)


def _like(expected: str, actual: str) -> bool:
    return wildcard_match(expected, actual)


def _equals(expected: str, actual: str) -> bool:
    return expected == actual


# operator -> (match(expected, actual), negated)
OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_equals, False),
    "StringNotEquals": (_equals, True),
    "StringEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (_like, False),  # ARN operators take wildcards too
    "ArnLike": (_like, False),
    "ArnNotEquals": (_like, True),
    "ArnNotLike": (_like, True),
    "NumericEquals": (_number(lambda a, e: a == e), False),
    "NumericNotEquals": (_number(lambda a, e: a == e), True),
    "NumericLessThan": (_number(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_number(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_number(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_number(lambda a, e: a >= e), False),
    "DateEquals": (_date(lambda a, e: a == e), False),
    "DateNotEquals": (_date(lambda a, e: a == e), True),
    "DateLessThan": (_date(lambda a, e: a < e), False),
    "DateLessThanEquals": (_date(lambda a, e: a <= e), False),
    "DateGreaterThan": (_date(lambda a, e: a > e), False),
    "DateGreaterThanEquals": (_date(lambda a, e: a >= e), False),
    "Bool": (lambda e, a: e.lower() == a.lower(), False),
    "IpAddress": (_ip, False),
    "NotIpAddress": (_ip, True),
    "BinaryEquals": (_equals, False),
}


def condition_holds(operator: str, key: str, expected: Any, context: Json) -> bool:
    set_mode, _, name = operator.rpartition(":")  # "ForAnyValue:StringLike" -> ("ForAnyValue", "StringLike")
    if set_mode not in ("", "ForAnyValue", "ForAllValues"):
        raise UnsupportedPolicy(f"condition operator {operator!r} is not supported by the local evaluator")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    actual = _context_value(context, key)
    if name == "Null":
        return (actual is None) == (str(as_list(expected)[0]).lower() == "true")
    if name not in OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r} is not supported by the local evaluator")
    match, negated = OPERATORS[name]
    if actual is None:
        return set_mode == "ForAllValues" or if_exists or negated
    expected_values = [substitute(str(e), context) for e in as_list(expected)]

    def one(value: str) -> bool:
        hit = any(match(e, value) for e in expected_values)
        return not hit if negated else hit

    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in as_list(actual)]
    return all(one(v) for v in values) if set_mode == "ForAllValues" else any(one(v) for v in values)


def conditions_hold(condition: Json | None, context: Json) -> bool:
    """Every operator block and every key in it must hold (AND); the values of one key are alternatives (OR)."""
    return all(
        condition_holds(operator, key, expected, context)
        for operator, block in (condition or {}).items()
        for key, expected in block.items()
    )


# ---------------------------------------------------------------- statements
@dataclass(frozen=True)
class Principal:
    """An assumed-role session: what the caller's SigV4 access key stands for."""

    role_arn: str
    session_arn: str

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]


def _matches_any(patterns: Iterable[Any], value: str, context: Json, *, ignore_case: bool) -> bool:
    return any(wildcard_match(substitute(str(p), context), value, ignore_case=ignore_case) for p in patterns)


def statement_matches(statement: Json, action: str, resource: str, context: Json) -> bool:
    """Action, resource and condition of one statement (not its principal, not its effect)."""
    if "Action" not in statement and "NotAction" not in statement:
        return False
    negated = "Action" not in statement
    if _matches_any(as_list(statement["NotAction" if negated else "Action"]), action, {}, ignore_case=True) == negated:
        return False
    if "Resource" in statement or "NotResource" in statement:
        negated = "Resource" not in statement
        patterns = as_list(statement["NotResource" if negated else "Resource"])
        if _matches_any(patterns, resource, context, ignore_case=False) == negated:
            return False
    # A resource policy statement without Resource means the resource the policy is attached to.
    return conditions_hold(statement.get("Condition"), context)


def _names(principal_element: Any, principal: Principal) -> bool:
    if principal_element == "*":
        return True
    if not isinstance(principal_element, dict):
        return False
    return any(v in ("*", principal.role_arn, principal.session_arn) for v in as_list(principal_element.get("AWS")))


def _names_account(principal_element: Any, account: str) -> bool:
    if not isinstance(principal_element, dict):
        return False
    return any(v in (f"arn:aws:iam::{account}:root", account) for v in as_list(principal_element.get("AWS")))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    """allowed-by-identity | allowed-by-resource | explicit-deny-identity | explicit-deny-resource | implicit-deny |
    no-resource-policy-grant"""
    matched: tuple[str, ...] = field(default_factory=tuple)
    """statement_id() of the deciding statements."""

    @property
    def word(self) -> str:
        return "Allow" if self.allowed else "Deny"


Policy = tuple[str, Json]
"""(name, policy document)."""


def statement_id(policy_name: str, statement: Json) -> str:
    """`<policy>#<Sid>`, or for a statement without Sid a hash of its content (stable when others move)."""
    sid = statement.get("Sid") or hashlib.sha1(json.dumps(statement, sort_keys=True).encode()).hexdigest()[:8]
    return f"{policy_name}#{sid}"


def _statements(policy: Policy) -> Iterable[tuple[str, Json]]:
    name, document = policy
    for statement in as_list(document.get("Statement")):
        yield statement_id(name, statement), statement


def evaluate(
    principal: Principal,
    action: str,
    resource: str,
    identity_policies: Iterable[Policy],
    resource_policy: Policy | None = None,
    context: Json | None = None,
    *,
    resource_policy_required: bool = False,
) -> Decision:
    """Decide one (action, resource) for `principal`.

    resource_policy_required: the resource policy must grant (KMS key policies): directly, or by naming the account
    root, which delegates the decision to the identity policies.
    """
    ctx = {
        "aws:PrincipalArn": principal.role_arn,
        "aws:PrincipalAccount": principal.account,
        "aws:userid": f"AROALOCAL:{principal.session_arn.rsplit('/', 1)[-1]}",
        "aws:username": principal.role_name,
        **(context or {}),
    }
    identity_allows: list[str] = []
    for policy in identity_policies:
        for sid, statement in _statements(policy):
            if statement_matches(statement, action, resource, ctx):
                if statement.get("Effect") == "Deny":
                    return Decision(False, "explicit-deny-identity", (sid,))
                identity_allows.append(sid)

    resource_allows: list[str] = []
    delegated = False
    for sid, statement in _statements(resource_policy) if resource_policy else ():
        if "NotPrincipal" in statement:
            applies = not _names(statement["NotPrincipal"], principal)
        else:
            element = statement.get("Principal")
            applies = _names(element, principal) or _names_account(element, principal.account)
        has_resource = "Resource" in statement or "NotResource" in statement
        if not applies or not statement_matches(
            statement if has_resource else {**statement, "Resource": "*"}, action, resource, ctx
        ):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(False, "explicit-deny-resource", (sid,))
        if "NotPrincipal" not in statement and not _names(statement.get("Principal"), principal):
            delegated = True  # only the account root is named: IAM policies decide
        else:
            resource_allows.append(sid)

    if resource_allows:
        return Decision(True, "allowed-by-resource", tuple(resource_allows))
    if resource_policy_required and not delegated:
        return Decision(False, "no-resource-policy-grant")
    if identity_allows:
        return Decision(True, "allowed-by-identity", tuple(identity_allows))
    return Decision(False, "implicit-deny")


def denial_message(principal: Principal, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording: the principal, the action, the resource and which kind of policy decided."""
    why = {
        "explicit-deny-identity": "with an explicit deny in an identity-based policy",
        "explicit-deny-resource": "with an explicit deny in a resource-based policy",
        "implicit-deny": f"because no identity-based policy allows the {action} action",
        "no-resource-policy-grant": f"because no resource-based policy allows the {action} action",
    }.get(decision.reason, decision.reason)
    return f'User: {principal.session_arn} is not authorized to perform: {action} on resource: "{resource}" {why}'
