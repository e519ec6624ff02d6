"""Pipeline parameters from the command line, parsed by their declared IR types."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from driver.errors import UsageError, raise_if_any
from driver.local.model import ArtifactRef
from driver.plan.model import Plan
from driver.plan.values import TypeMismatch, check_type, decode_value


def parse_run_parameters(plan: Plan, pairs: list[str], param_file: str | None, *,
                         complete: bool = True) -> dict[str, Any]:
    """``NAME=VALUE`` pairs (and a mapping file) -> typed values; every problem at once.

    ``complete``: also the defaults, and every required input must be given (a run); without it only the
    values given (a manifest, whose run may get the rest later)."""
    declared = plan.root.inputs.parameters
    artifacts = plan.root.inputs.artifacts
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
        if name in artifacts:
            values[name] = _artifact_input(name, value, artifacts[name].schema_title)
            continue
        param = declared.get(name)
        if param is None:
            close = difflib.get_close_matches(name, list(declared) + list(artifacts), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"parameters: {', '.join(sorted(declared)) or 'none'}"
            problems.append(UsageError(f"unknown pipeline parameter '{name}'", hint=hint))
            continue
        try:
            values[name] = decode_value(value, param.type) if isinstance(value, str) \
                else check_type(value, param.type)
        except TypeMismatch as error:
            problems.append(UsageError(f"parameter '{name}': {error}", hint=f"declared type {param.type.value}"))
    for name, param in declared.items():
        if name in raw or not complete:
            continue
        if param.has_default:
            values[name] = param.default
        elif not param.optional:
            problems.append(UsageError(f"missing required pipeline parameter '{name}' ({param.type.value})",
                                       hint=f"pass --param {name}=VALUE"))
    for name, artifact in artifacts.items():
        if complete and name not in values and not artifact.optional:
            problems.append(UsageError(f"missing required pipeline input artifact '{name}' ({artifact.schema_title})",
                                       hint=f"pass --param {name}=URI (a path, file://, s3://, gs:// URI)"))
    raise_if_any(problems)  # type: ignore[arg-type]
    return values


def _artifact_input(name: str, value: Any, schema_title: str) -> ArtifactRef:
    """A pipeline input artifact: a URI (a local path becomes absolute) or a JSON reference."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UsageError(f"parameter '{name}': not a valid JSON artifact reference") from None
    if isinstance(value, dict):
        ref = ArtifactRef.from_json(value)
        return ArtifactRef(ref.uri, ref.metadata, ref.name or name, schema_title)
    uri = str(value)
    if "://" not in uri:
        uri = str(Path(uri).resolve())
    return ArtifactRef(uri, {}, name, schema_title)


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

