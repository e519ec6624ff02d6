"""Pipeline parameters from the command line, parsed by their declared IR types."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from driver.errors import UsageError, raise_if_any
from driver.plan.model import Plan
from driver.plan.values import TypeMismatch, check_type, decode_value


def parse_run_parameters(plan: Plan, pairs: list[str], param_file: str | None) -> dict[str, Any]:
    """``NAME=VALUE`` pairs (and a mapping file) -> typed values with defaults; every problem at once."""
    declared = plan.root.inputs.parameters
    raw: dict[str, Any] = {}
    problems: list[UsageError] = []
    if param_file:
        raw.update(_read_param_file(param_file))
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            problems.append(UsageError(f"--param {pair!r}: expected NAME=VALUE"))
            continue
        raw[name] = text
    values: dict[str, Any] = {}
    for name, value in raw.items():
        param = declared.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(declared), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"parameters: {', '.join(sorted(declared)) or 'none'}"
            problems.append(UsageError(f"unknown pipeline parameter '{name}'", hint=hint))
            continue
        try:
            values[name] = decode_value(value, param.type) if isinstance(value, str) \
                else check_type(value, param.type)
        except TypeMismatch as error:
            problems.append(UsageError(f"parameter '{name}': {error}", hint=f"declared type {param.type.value}"))
    for name, param in declared.items():
        if name in values:
            continue
        if param.has_default:
            values[name] = param.default
        elif not param.optional:
            problems.append(UsageError(f"missing required pipeline parameter '{name}' ({param.type.value})",
                                       hint=f"pass --param {name}=VALUE"))
    raise_if_any(problems)  # type: ignore[arg-type]
    return values


def _read_param_file(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--param-file {path}: {error.strerror}") from None
    import yaml

    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise UsageError(f"--param-file {path}: not valid JSON/YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--param-file {path}: expected a mapping of parameter names to values")
    return data

