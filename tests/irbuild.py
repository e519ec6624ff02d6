"""Tiny builders for hand-made IR in tests (the shape the KFP SDK writes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def container_component(name: str, command: list[str], args: list[str] | None = None, *,
                        inputs: dict[str, str] | None = None, outputs: dict[str, str] | None = None,
                        image: str = "alpine:3.20") -> tuple[dict[str, Any], dict[str, Any]]:
    """(component, executor) for a container component with typed parameters."""
    component: dict[str, Any] = {"executorLabel": f"exec-{name}"}
    if inputs:
        component["inputDefinitions"] = {"parameters": {k: {"parameterType": t} for k, t in inputs.items()}}
    if outputs:
        component["outputDefinitions"] = {"parameters": {k: {"parameterType": t} for k, t in outputs.items()}}
    executor = {"container": {"image": image, "command": command, "args": args or []}}
    return component, executor


def pipeline(name: str, components: dict[str, tuple[dict, dict]], tasks: dict[str, dict], *,
             inputs: dict[str, dict] | None = None, extra_components: dict[str, dict] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "pipelineInfo": {"name": name},
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.14.3",
        "components": {f"comp-{k}": c for k, (c, _) in components.items()},
        "deploymentSpec": {"executors": {f"exec-{k}": e for k, (_, e) in components.items()}},
        "root": {"dag": {"tasks": tasks}},
    }
    spec["components"].update(extra_components or {})
    if inputs:
        spec["root"]["inputDefinitions"] = {"parameters": inputs}
    return spec


def task(component: str, *, params: dict[str, dict] | None = None, after: list[str] | None = None,
         condition: str | None = None, cache: bool = False, name: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"componentRef": {"name": f"comp-{component}"}, "taskInfo": {"name": name or component},
                            "cachingOptions": {"enableCache": cache} if cache else {}}
    if params:
        body["inputs"] = {"parameters": params}
    if after:
        body["dependentTasks"] = after
    if condition:
        body["triggerPolicy"] = {"condition": condition}
    body.update(extra)
    return body


def constant(value: Any) -> dict[str, Any]:
    return {"runtimeValue": {"constant": value}}


def parent(name: str) -> dict[str, Any]:
    return {"componentInputParameter": name}


def output_of(task_name: str, key: str = "Output") -> dict[str, Any]:
    return {"taskOutputParameter": {"producerTask": task_name, "outputParameterKey": key}}


def write(spec: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
