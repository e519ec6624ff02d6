"""Kubernetes pod-spec fragments both targets write the same way (resources, affinity)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from driver.plan.model import ContainerExecutor
from driver.plan.placeholders import parse_string
from driver.platform import ExecutorPlatform


def container_resources(executor: ContainerExecutor, fill: Callable[[str], str] | None = None) -> dict[str, Any]:
    """``resources`` of the task's container: requests, limits and the accelerator as a limit.

    Values (and the accelerator's name) may hold ``{{$.inputs.parameters['x']}}`` placeholders: ``fill``
    maps an input name to the text that replaces its placeholder; without it, placeholders stay."""
    r = executor.resources
    if fill is not None:
        r = replace(r, **{key: fill_inputs(value, fill) for key, value in vars(r).items() if isinstance(value, str)})
    requests = {k: v for k, v in (("cpu", r.cpu_request), ("memory", r.memory_request)) if v}
    limits = {k: v for k, v in (("cpu", r.cpu_limit), ("memory", r.memory_limit)) if v}
    if r.accelerator_type and r.accelerator_count:
        limits[r.accelerator_type] = r.accelerator_count
    result: dict[str, Any] = {}
    if requests:
        result["requests"] = requests
    if limits:
        result["limits"] = limits
    return result


def resource_inputs(executor: ContainerExecutor) -> set[str]:
    """Inputs whose values the container's resources read (through placeholders)."""
    return {piece["name"] for value in vars(executor.resources).values() if isinstance(value, str) and "{{$" in value
            for piece in parse_string(value) if isinstance(piece, dict)}


def fill_inputs(text: str, fill: Callable[[str], str]) -> str:
    """``text`` with each ``{{$.inputs.parameters['x']}}`` replaced by ``fill('x')``."""
    if "{{$" not in text:
        return text
    return "".join(piece if isinstance(piece, str) else fill(piece.get("name", "")) for piece in parse_string(text))


def static_affinity(options: ExecutorPlatform) -> dict[str, Any]:
    """Node and pod (anti-)affinity from the terms written in the IR; JSON-valued terms are the target's job."""
    affinity: dict[str, Any] = {}
    required, preferred = [], []
    for term in options.node_affinity:
        if term.node_affinity_json is not None:
            continue
        selector_term = {k: v for k, v in (("matchExpressions", [requirement(r) for r in term.match_expressions]),
                                           ("matchFields", [requirement(r) for r in term.match_fields])) if v}
        if term.weight is not None:
            preferred.append({"weight": term.weight, "preference": selector_term})
        else:
            required.append(selector_term)
    if required or preferred:
        node: dict[str, Any] = {}
        if required:
            node["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": required}
        if preferred:
            node["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
        affinity["nodeAffinity"] = node
    for term in options.pod_affinity:
        kind = "podAntiAffinity" if term.anti else "podAffinity"
        selector_body: dict[str, Any] = {}
        if term.match_pod_labels:
            selector_body["matchLabels"] = dict(term.match_pod_labels)
        if term.match_pod_expressions:
            selector_body["matchExpressions"] = [requirement(r) for r in term.match_pod_expressions]
        pod_term: dict[str, Any] = {"labelSelector": selector_body, "topologyKey": term.topology_key}
        if term.namespaces:
            pod_term["namespaces"] = list(term.namespaces)
        bucket = affinity.setdefault(kind, {})
        if term.weight is not None:
            bucket.setdefault("preferredDuringSchedulingIgnoredDuringExecution", []).append(
                {"weight": term.weight, "podAffinityTerm": pod_term})
        else:
            bucket.setdefault("requiredDuringSchedulingIgnoredDuringExecution", []).append(pod_term)
    return affinity


def requirement(item: Any) -> dict[str, Any]:
    """A label/field selector requirement."""
    body: dict[str, Any] = {"key": item.key, "operator": item.operator}
    if item.values:
        body["values"] = list(item.values)
    return body


def security_context(context: Any) -> dict[str, Any]:
    """A container ``securityContext`` from the platform's run-as settings."""
    return {k: v for k, v in (("runAsUser", context.run_as_user), ("runAsGroup", context.run_as_group),
                              ("runAsNonRoot", context.run_as_non_root)) if v is not None}


def init_container(init: Any) -> dict[str, Any]:
    """A user init container's common fields (each target adds resources under its own key)."""
    spec: dict[str, Any] = {"name": init.name, "image": init.image}
    if init.command:
        spec["command"] = list(init.command)
    if init.args:
        spec["args"] = list(init.args)
    if init.env:
        spec["env"] = [{"name": e.name, "value": e.value} for e in init.env]
    if init.volume_mounts:
        spec["volumeMounts"] = [{"name": m.volume_name, "mountPath": m.mount_path} for m in init.volume_mounts]
    return spec
