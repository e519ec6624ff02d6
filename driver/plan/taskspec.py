"""The launcher's task spec (docs/task-spec.md), built once per component from the plan."""

from __future__ import annotations

from typing import Any

from driver.plan.model import Component, ContainerExecutor, Interface

TASK_SPEC_VERSION = 1


def task_spec(component: Component) -> dict[str, Any]:
    """The compact, versioned spec the launcher reads; engines fill the per-task values."""
    executor = component.executor
    assert isinstance(executor, ContainerExecutor), component.name
    spec: dict[str, Any] = {
        "v": TASK_SPEC_VERSION,
        "image": executor.image,
        "command": executor.command,
        "args": executor.args,
    }
    if executor.env:
        spec["env"] = dict(executor.env)
    spec["inputs"] = _interface(component.inputs, inputs=True)
    spec["outputs"] = _interface(component.outputs, inputs=False)
    return spec


def _interface(interface: Interface, *, inputs: bool) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for name, param in interface.parameters.items():
        entry: dict[str, Any] = {"type": param.type.value}
        if inputs and param.optional:
            entry["optional"] = True
        if inputs and param.has_default:
            entry["default"] = param.default
        parameters[name] = entry
    artifacts: dict[str, Any] = {}
    for name, artifact in interface.artifacts.items():
        entry = {"schemaTitle": artifact.schema_title, "schemaVersion": artifact.schema_version}
        if artifact.is_list:
            entry["list"] = True
        if inputs and artifact.optional:
            entry["optional"] = True
        artifacts[name] = entry
    result: dict[str, Any] = {}
    if parameters:
        result["parameters"] = parameters
    if artifacts:
        result["artifacts"] = artifacts
    return result
