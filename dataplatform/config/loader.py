"""Load pipeline.yaml into PipelineConfig, reporting every problem with its file, YAML path and line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dataplatform.config.models import CsvSource, PipelineConfig
from dataplatform.config.sources import SOURCE_KINDS

ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ValueError):
    """pipeline.yaml is malformed. `problems` holds one entry per problem."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.messages = [p.render(file) for p in problems]
        plural = "s" if len(problems) != 1 else ""
        super().__init__(f"{len(problems)} problem{plural} in {file}:\n  " + "\n  ".join(self.messages))


def _duplicate_keys(node: yaml.Node, path: tuple = ()) -> list[Problem]:
    """Every duplicate mapping key, with its YAML path (PyYAML would silently keep the last one)."""
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                message = f"duplicate key '{key}' (first defined on line {seen[key]})"
                problems.append(Problem(_format_path((*path, key)), message, line))
            else:
                seen[key] = line
            problems.extend(_duplicate_keys(value_node, (*path, key)))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems.extend(_duplicate_keys(item, (*path, i)))
    return problems


def _line_index(node: yaml.Node, path: tuple = (), index: dict | None = None) -> dict[tuple, int]:
    """Map every YAML path to the line it starts on, so messages can point at the line."""
    index = {} if index is None else index
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            index[child] = key_node.start_mark.line + 1
            _line_index(value_node, child, index)
            index[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)
    return index


def _interpolate(value: Any, env: Mapping[str, str], path: tuple, missing: list[tuple[tuple, str]]) -> Any:
    """Replace ${VAR} and ${VAR:-default} in strings, so endpoints can differ between AWS and local runs.

    Unset variables without a default are collected in `missing` as (YAML path, name).
    """
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append((path, name))
            return match.group(0)

        return ENV_REFERENCE.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, (*path, k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, (*path, i), missing) for i, v in enumerate(value)]
    return value


def _format_path(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# Error kinds whose pydantic message does not show the offending value; the loader appends it.
_SHOW_INPUT = (
    "int_", "float_", "bool_", "string_type", "string_too", "date_", "list_", "tuple_", "dict_",
    "literal_error", "greater_than", "less_than", "too_short", "too_long",
)  # fmt: skip


def _problem(error: dict, lines: dict[tuple, int]) -> Problem:
    loc = list(error["loc"])
    # Discriminated unions put the tag into the location (datasets.x.source.rest.base_url): drop it.
    for i in range(len(loc) - 1):
        if loc[i] == "source" and loc[i + 1] in SOURCE_KINDS:
            del loc[i + 1]
            break
    ctx = error.get("ctx") or {}
    if "at" in ctx:
        loc.extend(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]\.?", str(ctx["at"])) if p)
    kind = error["type"]
    given = error.get("input")
    if kind == "missing":
        message = f"missing required key '{loc[-1]}'"
        parent = tuple(loc[:-1])
        return Problem(_format_path(tuple(loc)), message, lines.get(parent))
    if kind == "extra_forbidden":
        message = f"unknown key '{loc[-1]}'"
    elif kind == "union_tag_invalid":
        tag = str(ctx.get("tag")).strip("'")
        message = f"unknown source kind '{tag}'; expected one of: {', '.join(SOURCE_KINDS)}"
    elif kind == "union_tag_not_found":
        message = f"missing required key 'kind' (one of: {', '.join(SOURCE_KINDS)})"
    elif kind == "string_pattern_mismatch":
        message = f"expected a value matching {ctx.get('pattern')}; got {given!r}"
    elif kind.startswith(_SHOW_INPUT):
        message = f"{error['msg'].rstrip('.')}; got {given!r}"
    else:
        message = error["msg"].removeprefix("Value error, ")
    path = tuple(loc)
    line = next((lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None)
    return Problem(_format_path(path), message, line)


def parse_config(text: str, file: str = "pipeline.yaml", env: Mapping[str, str] | None = None) -> PipelineConfig:
    env = os.environ if env is None else env
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        duplicates = _duplicate_keys(node) if node is not None else []
        if duplicates:
            raise ConfigError(file, duplicates)
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(file, [Problem("", f"invalid YAML: {exc.problem}", line)]) from None
    if not isinstance(raw, dict):
        raise ConfigError(file, [Problem("", "expected a mapping at the top level", 1)])
    lines = _line_index(node) if node is not None else {}
    missing: list[tuple[tuple, str]] = []
    raw = _interpolate(raw, env, (), missing)
    if missing:
        raise ConfigError(
            file,
            [
                Problem(
                    _format_path(path),
                    f"environment variable {name} is not set and has no default (write ${{{name}:-default}})",
                    lines.get(path),
                )
                for path, name in missing
            ],
        )
    try:
        return PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem(e, lines) for e in exc.errors(include_url=False)]
        raise ConfigError(file, problems) from None


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """Load the pipeline config. Default: $PIPELINE_CONFIG, else ./pipeline.yaml."""
    path = Path(path or os.environ.get("PIPELINE_CONFIG", "pipeline.yaml"))
    if not path.is_file():
        raise ConfigError(str(path), [Problem("", "file not found")])
    config = parse_config(path.read_text(encoding="utf-8"), file=str(path), env=env)
    return _local_directories_resolved(config, path.resolve().parent)


def _local_directories_resolved(config: PipelineConfig, base: Path) -> PipelineConfig:
    """A CSV location that is a local directory is relative to the config file, wherever the command runs."""
    datasets = dict(config.datasets)
    for name, dataset in config.datasets.items():
        source = dataset.source
        if isinstance(source, CsvSource) and source.is_local_directory:
            location = f"{(base / source.location).resolve()}/"
            datasets[name] = dataset.model_copy(update={"source": source.model_copy(update={"location": location})})
    return config.model_copy(update={"datasets": datasets})


def sql_dir_of(config: PipelineConfig, config_file: str | Path) -> Path:
    """The pipeline's sql/ folder: `sql_dir` relative to the config file."""
    return (Path(config_file).resolve().parent / config.sql_dir).resolve()
