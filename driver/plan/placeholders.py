"""KFP command/args placeholders, parsed into the launcher's token form (see docs/task-spec.md).

Parsing happens once, at compile time; the launcher only substitutes tokens. An ARG is a literal
string, ``{"concat": [PIECE...]}`` or ``{"ifPresent": NAME, "then": [ARG...], "else": [ARG...]}``; a
PIECE is a string, a placeholder ``{"ph": KIND, "name": NAME}``, a nested concat or an ifPresent.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\$(.*?)\}\}")

_RUN_VALUES = {
    "pipeline_job_name": "jobName",
    "pipeline_job_resource_name": "jobResourceName",
    "pipeline_job_uuid": "jobUuid",
    "pipeline_task_name": "taskName",
    "pipeline_task_uuid": "taskUuid",
    "pipeline_root": "pipelineRoot",
    "workspace_path": "workspacePath",
    "pipeline_google_cloud_project_id": "gcpProjectId",
    "pipeline_google_cloud_location": "gcpLocation",
    "pipeline_persistent_resource_id": "persistentResourceId",
    "pipeline_job_create_time_utc": "jobCreateTime",
    "pipeline_job_schedule_time_utc": "jobScheduleTime",
}
_IO = re.compile(r"^\.(inputs|outputs)\.(parameters|artifacts)\['([^']*)'\](?:\.([a-z_]+))?$")
_IO_KINDS = {
    ("inputs", "parameters", None): "inputValue",
    ("inputs", "artifacts", None): "inputArtifact",
    ("inputs", "artifacts", "path"): "inputPath",
    ("inputs", "artifacts", "uri"): "inputUri",
    ("inputs", "artifacts", "metadata"): "inputMetadata",
    ("outputs", "parameters", "output_file"): "outputParameterFile",
    ("outputs", "artifacts", "path"): "outputPath",
    ("outputs", "artifacts", "uri"): "outputUri",
    ("outputs", "artifacts", "metadata"): "outputMetadata",
}


class PlaceholderError(ValueError):
    """A placeholder the launcher cannot resolve."""


def parse_args(values: list[str]) -> list[Any]:
    """Parse an IR ``command`` or ``args`` list into ARG tokens."""
    return [parse_arg(value) for value in values]


def parse_arg(value: Any) -> Any:
    """One IR argument: a string (maybe a JSON ``Concat``/``IfPresent``) or an already-decoded dict."""
    if isinstance(value, str):
        structured = _structured(value)
        if structured is None:
            return _pieces_as_arg(parse_string(value))
        value = structured
    if isinstance(value, dict):
        return _structured_arg(value)
    raise PlaceholderError(f"argument {value!r} is neither a string nor a placeholder object")


def parse_string(text: str) -> list[Any]:
    """Split a string into literal pieces and placeholder objects."""
    pieces: list[Any] = []
    position = 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > position:
            pieces.append(text[position:match.start()])
        pieces.append(placeholder(match.group(1)))
        position = match.end()
    if position < len(text):
        pieces.append(text[position:])
    return pieces


def placeholder(inner: str) -> dict[str, str]:
    """The token for ``{{$<inner>}}``."""
    if inner == "":
        return {"ph": "executorInput"}
    if inner == ".outputs.metadata_file":
        return {"ph": "outputMetadataFile"}
    if inner.startswith(".") and inner[1:] in _RUN_VALUES:
        return {"ph": _RUN_VALUES[inner[1:]]}
    match = _IO.match(inner)
    if match:
        kind = _IO_KINDS.get((match.group(1), match.group(2), match.group(4)))
        if kind:
            return {"ph": kind, "name": match.group(3)}
    raise PlaceholderError(f"unknown placeholder {{{{${inner}}}}}")


def placeholder_names(arg: Any) -> set[tuple[str, str]]:
    """Every ``(kind, name)`` a parsed ARG refers to (for checks)."""
    found: set[tuple[str, str]] = set()
    if isinstance(arg, dict):
        if "ph" in arg:
            found.add((arg["ph"], arg.get("name", "")))
        if "ifPresent" in arg:
            found.add(("ifPresent", arg["ifPresent"]))
        for key in ("concat", "then", "else"):
            for item in arg.get(key, []):
                found |= placeholder_names(item)
    return found


def _structured(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and ('"Concat"' in stripped or '"IfPresent"' in stripped)):
        return None
    try:
        decoded = json.loads(stripped)
    except json.JSONDecodeError:
        return None
    if isinstance(decoded, dict) and len(decoded) == 1 and next(iter(decoded)) in ("Concat", "IfPresent"):
        return decoded
    return None


def _structured_arg(value: dict[str, Any]) -> Any:
    if set(value) == {"Concat"}:
        return {"concat": [parse_arg(item) for item in value["Concat"]]}
    if set(value) == {"IfPresent"}:
        body = value["IfPresent"]
        name = body.get("InputName")
        if not isinstance(name, str):
            raise PlaceholderError("IfPresent needs an InputName")
        return {"ifPresent": name, "then": _branch(body.get("Then")), "else": _branch(body.get("Else"))}
    raise PlaceholderError(f"unknown structured placeholder {sorted(value)}")


def _branch(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [parse_arg(item) for item in value]
    return [parse_arg(value)]


def _pieces_as_arg(pieces: list[Any]) -> Any:
    if not pieces:
        return ""
    if len(pieces) == 1 and isinstance(pieces[0], str):
        return pieces[0]
    return {"concat": pieces}


# ---------------------------------------------------------------------------------------------
# lightweight Python components

EXECUTOR_MAIN = "kfp.dsl.executor_main"
_PIP_NOISE = {"--quiet", "-q", "--no-warn-script-location"}


def is_lightweight_python(command: list[str], args: list[str]) -> bool:
    """True when the component runs the KFP SDK's executor (``python -m kfp.dsl.executor_main``)."""
    return any(EXECUTOR_MAIN in part for part in command + args if isinstance(part, str))


def pip_installs(command: list[str]) -> tuple[tuple[str, ...], ...]:
    """The arguments of each ``pip install`` in a lightweight component's shell command, in order."""
    found: list[tuple[str, ...]] = []
    for part in command:
        if not isinstance(part, str) or "pip install" not in part:
            continue
        for line in part.splitlines():
            for tail in line.split("pip install")[1:]:
                try:
                    words = shlex.split(tail.split("&&", 1)[0])
                except ValueError:
                    continue
                found.append(tuple(word for word in words if word not in _PIP_NOISE))
    return tuple(found)
