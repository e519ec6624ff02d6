"""Tasks that need no pod: an importer's reference is built at compile time and inlined into its
consumers; a ``CreatePVC`` becomes a volume claim template the run binds as a workspace (Tekton deletes
the claim with the run, so ``DeletePVC`` has nothing left to do)."""

from __future__ import annotations

import json
from typing import Any

from driver.plan.model import Component, Constant, ImporterExecutor, ParamType, Task
from driver.plan.placeholders import parse_string
from driver.plan.values import encode_value
from translators.tekton.flat import Refusal
from translators.tekton.values import Const, Text, Value


def importer_outputs(task: Task, component: Component, executor: ImporterExecutor,
                     params: dict[str, Value]) -> dict[str, Value | None]:
    output = next(iter(component.outputs.artifacts), "artifact")
    source = executor.uri.source
    uri = Const(source.value) if isinstance(source, Constant) else params.get(getattr(source, "name", "uri"))
    metadata = _resolve_metadata(task, executor.metadata, params)
    if isinstance(uri, Const):
        reference = {"uri": uri.value, "metadata": metadata,
                     "type": {"schemaTitle": executor.schema_title, "schemaVersion": executor.schema_version}}
        return {output: Text(json.dumps(reference, separators=(",", ":"), ensure_ascii=False))}
    if uri is None:
        raise Refusal(task, "importer URI parameter is not bound")
    if metadata:
        raise Refusal(task, "importer metadata with a URI known only at run time",
                      "Tekton cannot build the JSON reference at run time; the launcher takes the bare URI")
    return {output: uri}


def claim_template(task: Task, component: Component, params: dict[str, Value]) -> dict[str, Any]:
    """The volume claim template of a ``CreatePVC`` task, from its constant inputs."""
    values: dict[str, Any] = {name: p.default for name, p in component.inputs.parameters.items() if p.has_default}
    for name, value in params.items():
        if not isinstance(value, Const):
            raise Refusal(task, f"CreatePVC input '{name}' is known only at run time",
                          "Tekton binds the run's workspaces when the run starts")
        values[name] = value.value
    if values.get("pvc_name"):
        raise Refusal(task, "CreatePVC with a fixed pvc_name", "Tekton names a run's claims itself; use pvc_name_suffix")
    spec: dict[str, Any] = {"accessModes": list(values.get("access_modes") or ["ReadWriteOnce"]),
                            "resources": {"requests": {"storage": values.get("size", "")}}}
    for key, name in (("storageClassName", "storage_class_name"), ("volumeName", "volume_name"),
                      ("dataSource", "data_source")):
        if values.get(name):
            spec[key] = values[name]
    claim: dict[str, Any] = {"spec": spec}
    if values.get("annotations"):
        claim["metadata"] = {"annotations": values["annotations"]}
    return claim


def _resolve_metadata(task: Task, metadata: Any, params: dict[str, Value]) -> Any:
    """Importer metadata with ``{{$.inputs.parameters['x']}}`` placeholders filled from constant inputs."""
    if isinstance(metadata, dict):
        return {_resolve_metadata(task, k, params): _resolve_metadata(task, v, params) for k, v in metadata.items()}
    if isinstance(metadata, list):
        return [_resolve_metadata(task, item, params) for item in metadata]
    if not isinstance(metadata, str) or "{{$" not in metadata:
        return metadata
    text = ""
    for piece in parse_string(metadata):
        if isinstance(piece, str):
            text += piece
            continue
        value = params.get(piece.get("name", "")) if piece.get("ph") == "inputValue" else None
        if not isinstance(value, Const):
            raise Refusal(task, "importer metadata reads a value known only at run time",
                          "Tekton cannot build the JSON reference at run time")
        text += encode_value(value.value, ParamType.STRING if isinstance(value.value, str) else ParamType.STRUCT)
    return text
