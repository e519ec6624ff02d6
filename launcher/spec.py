"""The task spec (docs/task-spec.md, "Task spec"): the component as the compiler hands it to the launcher."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from launcher import values
from launcher.errors import SpecError

SPEC_VERSION = 1


@dataclass(frozen=True)
class ParamDef:
    type: str
    optional: bool = False
    has_default: bool = False
    default: Any = None


@dataclass(frozen=True)
class ArtifactDef:
    schema_title: str
    schema_version: str = "0.0.1"
    is_list: bool = False
    optional: bool = False


@dataclass(frozen=True)
class TaskSpec:
    image: str
    command: list[Any]
    args: list[Any]
    env: dict[str, str] = field(default_factory=dict)
    input_params: dict[str, ParamDef] = field(default_factory=dict)
    input_artifacts: dict[str, ArtifactDef] = field(default_factory=dict)
    output_params: dict[str, ParamDef] = field(default_factory=dict)
    output_artifacts: dict[str, ArtifactDef] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def digest(self) -> str:
        """sha256 of the canonical spec JSON: identifies the component in records and cache keys."""
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def parse_spec(data: Any) -> TaskSpec:
    """Validate and type the spec JSON; errors name the offending field."""
    if not isinstance(data, dict):
        raise SpecError("task spec: expected a JSON object")
    if data.get("v") != SPEC_VERSION:
        raise SpecError(f"task spec: version {data.get('v')!r} is not supported (this launcher reads v{SPEC_VERSION})")
    for key in ("command", "args"):
        if not isinstance(data.get(key, []), list):
            raise SpecError(f"task spec: {key!r} must be a list")
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise SpecError("task spec: 'env' must map names to strings")
    inputs, outputs = data.get("inputs") or {}, data.get("outputs") or {}
    return TaskSpec(
        image=str(data.get("image", "")),
        command=list(data.get("command", [])),
        args=list(data.get("args", [])),
        env=dict(env),
        input_params=_params(inputs.get("parameters") or {}, "inputs"),
        input_artifacts=_artifacts(inputs.get("artifacts") or {}, "inputs"),
        output_params=_params(outputs.get("parameters") or {}, "outputs"),
        output_artifacts=_artifacts(outputs.get("artifacts") or {}, "outputs"),
        raw=data,
    )


def _params(entries: dict[str, Any], where: str) -> dict[str, ParamDef]:
    result = {}
    for name, entry in entries.items():
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind not in values.TYPES:
            raise SpecError(f"task spec: {where}.parameters[{name!r}].type {kind!r} "
                            f"is not one of {', '.join(values.TYPES)}")
        has_default = "default" in entry
        default = entry.get("default")
        if has_default and default is not None:
            try:
                default = values.check(default, kind)
            except values.TypeMismatch as error:
                raise SpecError(f"task spec: {where}.parameters[{name!r}].default: {error}") from None
        result[name] = ParamDef(kind, bool(entry.get("optional")), has_default, default)
    return result


def _artifacts(entries: dict[str, Any], where: str) -> dict[str, ArtifactDef]:
    result = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("schemaTitle"), str):
            raise SpecError(f"task spec: {where}.artifacts[{name!r}] needs a schemaTitle")
        result[name] = ArtifactDef(entry["schemaTitle"], str(entry.get("schemaVersion") or "0.0.1"),
                                   bool(entry.get("list")), bool(entry.get("optional")))
    return result
