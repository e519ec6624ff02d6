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
from translators.tekton.values import Const, Reference, ReferencePart, Text, Value


def importer_outputs(task: Task, component: Component, executor: ImporterExecutor,
                     params: dict[str, Value]) -> dict[str, Value | None]:
    """The importer's reference: final text when everything is known now, else a ``Reference`` whose
    run-time parts the consumer's launcher fills in (a bare URI when that is all there is)."""
    output = next(iter(component.outputs.artifacts), "artifact")
    source = executor.uri.source
    uri = Const(source.value) if isinstance(source, Constant) else params.get(getattr(source, "name", "uri"))
    if uri is None:
        raise Refusal(task, "importer URI parameter is not bound")
    runtime: list[ReferencePart] = []
    metadata = _metadata(task, executor.metadata, params, ("metadata",), runtime)
    if not isinstance(uri, Const) and not runtime and not metadata:
        return {output: uri}
    reference = {"uri": uri.value if isinstance(uri, Const) else "", "metadata": metadata,
                 "type": {"schemaTitle": executor.schema_title, "schemaVersion": executor.schema_version}}
    if not isinstance(uri, Const):
        runtime.insert(0, ReferencePart(("uri",), (uri,)))
    text = json.dumps(reference, separators=(",", ":"), ensure_ascii=False)
    return {output: Reference(text, tuple(runtime)) if runtime else Text(text)}


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


def _metadata(task: Task, metadata: Any, params: dict[str, Value], path: tuple[str | int, ...],
              runtime: list[ReferencePart]) -> Any:
    """Importer metadata with ``{{$.inputs.parameters['x']}}`` placeholders filled from constant inputs;
    a string with run-time pieces is left empty (a key gets a placeholder name) and listed in ``runtime``."""
    if isinstance(metadata, dict):
        result = {}
        for key, value in metadata.items():
            pieces = _pieces(task, str(key), params)
            if isinstance(pieces, str):
                name = pieces
            else:
                name = f"kfp-runtime-key-{len(runtime)}"
                runtime.append(ReferencePart(path + (name,), pieces, key=True))
            result[name] = _metadata(task, value, params, path + (name,), runtime)
        return result
    if isinstance(metadata, list):
        return [_metadata(task, item, params, path + (index,), runtime) for index, item in enumerate(metadata)]
    if not isinstance(metadata, str):
        return metadata
    pieces = _pieces(task, metadata, params)
    if isinstance(pieces, str):
        return pieces
    runtime.append(ReferencePart(path, pieces))
    return ""


def _pieces(task: Task, text: str, params: dict[str, Value]) -> str | tuple[str | Value, ...]:
    """``text`` with its placeholders: the final string when every piece is known now."""
    if "{{$" not in text:
        return text
    pieces: list[str | Value] = []
    for piece in parse_string(text):
        if isinstance(piece, str):
            pieces.append(piece)
            continue
        value = params.get(piece.get("name", "")) if piece.get("ph") == "inputValue" else None
        if isinstance(value, Const):
            kind = ParamType.STRING if isinstance(value.value, str) else ParamType.STRUCT
            pieces.append(encode_value(value.value, kind))
        elif value is not None and not isinstance(value, (Text, Reference)):
            pieces.append(value)
        else:
            raise Refusal(task, f"importer metadata placeholder in {text!r} reads no parameter value")
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(pieces)  # type: ignore[arg-type]
    return tuple(pieces)
