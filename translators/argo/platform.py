"""Kubernetes platform options (the IR's second document) as Argo template fields.

Options are per executor, so they go on the component's template. A value that comes from a pipeline
parameter or a task output (a secret name, a PVC name, a node selector as JSON) becomes an input of
the template, bound per task like any other input; JSON-valued options reach the pod through a
``podSpecPatch`` expression that parses the value instead of pasting it as text.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any, Callable

from driver.plan.model import Binding, Component, Constant, ParentInput, Plan, TaskOutput
from driver.platform import ExecutorPlatform, ParamRef
from translators.argo import exprs
from translators.kubernetes import init_container, security_context, static_affinity

WORKSPACE_VOLUME = "kfp-workspace"
WORKSPACE_PATH = "/kfp-workspace"
PLATFORM_PARAM = "kfp-platform-{}"


@dataclass
class _Template:
    """Collects what the options add to one template and its main container."""

    params: list[tuple[str, ParamRef]] = field(default_factory=list)
    patch: dict[str, str] = field(default_factory=dict)
    """Pod spec patch entries: field -> expression code producing its value."""
    tolerations: list[str] = field(default_factory=list)
    """Expression code of each JSON-valued toleration (nil when its input is unset)."""

    def value(self, ref: ParamRef) -> str:
        """The option's value in the template: the constant, or a template input bound per task."""
        if ref.component_input is None and ref.task_output is None:
            return "" if ref.constant is None else str(ref.constant)
        name = PLATFORM_PARAM.format(len(self.params))
        self.params.append((name, ref))
        return exprs.input_param(name)

    def string_code(self, ref: ParamRef) -> str:
        """Expression code for a string-valued option: always a template input (constants too), because
        Argo evaluates the pod spec patch without unescaping it, so its code holds no quotes or escapes."""
        return _plain_var(self.param(ref))

    def json_value(self, ref: ParamRef, empty: str = "nil") -> str:
        """Expression code for a JSON-valued option, parsed from a template input (see ``string_code``);
        ``empty`` when the input is empty (an optional pipeline input nobody set)."""
        variable = _plain_var(self.param(ref))
        return f"({variable} == '' ? {empty} : fromJSON({variable}))"

    def param(self, ref: ParamRef) -> str:
        name = PLATFORM_PARAM.format(len(self.params))
        self.params.append((name, ref))
        return name


EMPTY_MAP = "fromJSON('{}')"
"""An empty mapping in Argo's expression language (which has no ``{}`` literal)."""


def _plain_var(name: str) -> str:
    assert re.fullmatch(r"[\w.-]+", name), name
    return f"inputs.parameters['{name}']"


def _plain_key(key: str) -> str:
    assert re.fullmatch(r"[A-Za-z]+", key), key
    return f"'{key}'"


class PlatformFields:
    def __init__(self, plan: Plan, problem: Callable[..., None]) -> None:
        self.plan = plan
        self.problem = problem
        self.param_refs: dict[str, list[tuple[str, ParamRef]]] = {}

    def workflow_fields(self) -> dict[str, Any]:
        """The pipeline workspace (``pipelineConfig.workspace``) as a volume claim template for the run."""
        config = self.plan.pipeline_config
        fields: dict[str, Any] = {}
        if config is None:
            return fields
        if config.workspace is not None:
            spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": config.workspace.size}}}
            if config.workspace.kubernetes is not None:
                spec.update(config.workspace.kubernetes.pvc_spec_patch)
            fields["volumeClaimTemplates"] = [{"metadata": {"name": WORKSPACE_VOLUME}, "spec": spec}]
        if config.active_deadline_seconds:
            fields["activeDeadlineSeconds"] = config.active_deadline_seconds
        ttl = {key: value for key, value in (
            ("secondsAfterCompletion", config.resource_ttl_on_completion),
            ("secondsAfterSuccess", config.resource_ttl_on_success),
            ("secondsAfterFailure", config.resource_ttl_on_failure)) if value}
        if ttl:
            fields["ttlStrategy"] = ttl
        return fields

    def apply(self, template: dict[str, Any], component: Component) -> None:
        """Add the component's options to its container template."""
        container = template["container"]
        if self.plan.pipeline_config is not None and self.plan.pipeline_config.workspace is not None:
            container["volumeMounts"].append({"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE_PATH})
            container["env"].append({"name": "KFP_WORKSPACE_PATH", "value": WORKSPACE_PATH})
        options = component.platform
        if options is None:
            return
        if options.pod_resource_claims:
            self.problem(None, f"component '{component.name}': pod resource claims (DRA) are not supported "
                               "by the Argo target", "remove them or run on a cluster API that Argo can patch")
        collected = _Template()
        _env(options, container, collected)
        _volumes(options, template, container, collected)
        _scheduling(options, template, collected)
        _pod(options, template, container, collected)
        if collected.tolerations:  # unset optional inputs give nil: left out
            collected.patch["tolerations"] = f"filter([{', '.join(collected.tolerations)}], # != nil)"
        if collected.patch:
            body = ", ".join(f"{_plain_key(key)}: {code}" for key, code in collected.patch.items())
            template["podSpecPatch"] = exprs.expression("toJson({" + body + "})")
        if collected.params:
            template["inputs"]["parameters"].extend({"name": name} for name, _ in collected.params)
        self.param_refs[template["name"]] = collected.params

    def arguments(self, template_name: str, resolve: Callable[[Binding], Any]) -> list[dict[str, str]]:
        """Per-task values for the template's option inputs, resolved in the task's DAG scope."""
        arguments = []
        for name, ref in self.param_refs.get(template_name, []):
            value = resolve(_binding(ref))
            arguments.append({"name": name, "value": value.text if value is not None else ""})
        return arguments


def _binding(ref: ParamRef) -> Binding:
    if ref.task_output is not None:
        return Binding(TaskOutput(ref.task_output.producer_task, ref.task_output.output_key))
    if ref.component_input is not None:
        return Binding(ParentInput(ref.component_input))
    return Binding(Constant(ref.constant))


def _env(options: ExecutorPlatform, container: dict[str, Any], collected: _Template) -> None:
    env = container["env"]
    for secret in options.secret_as_env:
        name = collected.value(secret.secret_name)
        for pair in secret.key_to_env:
            ref = {"name": name, "key": pair.secret_key, **({"optional": True} if secret.optional else {})}
            env.append({"name": pair.env_var, "valueFrom": {"secretKeyRef": ref}})
    for config_map in options.config_map_as_env:
        name = collected.value(config_map.config_map_name)
        for pair in config_map.key_to_env:
            ref = {"name": name, "key": pair.config_map_key, **({"optional": True} if config_map.optional else {})}
            env.append({"name": pair.env_var, "valueFrom": {"configMapKeyRef": ref}})
    for item in options.field_path_as_env:
        env.append({"name": item.name, "valueFrom": {"fieldRef": {"fieldPath": item.field_path}}})


def _volumes(options: ExecutorPlatform, template: dict[str, Any], container: dict[str, Any],
             collected: _Template) -> None:
    volumes, mounts = template["volumes"], container["volumeMounts"]

    def add(prefix: str, volume: dict[str, Any], mount_path: str, sub_path: str = "") -> None:
        name = f"{prefix}-{len(volumes)}"
        volumes.append({"name": name, **volume})
        mounts.append({"name": name, "mountPath": mount_path, **({"subPath": sub_path} if sub_path else {})})

    for secret in options.secret_as_volume:
        source = {"secretName": collected.value(secret.secret_name), **({"optional": True} if secret.optional else {})}
        add("kfp-secret", {"secret": source}, secret.mount_path)
    for config_map in options.config_map_as_volume:
        source = {"name": collected.value(config_map.config_map_name),
                  **({"optional": True} if config_map.optional else {})}
        add("kfp-config", {"configMap": source}, config_map.mount_path)
    for pvc in options.pvc_mount:
        add("kfp-pvc", {"persistentVolumeClaim": {"claimName": collected.value(pvc.pvc_name)}}, pvc.mount_path,
            pvc.sub_path)
    for empty in options.empty_dir_mounts:
        source = {key: value for key, value in (("medium", empty.medium), ("sizeLimit", empty.size_limit)) if value}
        add("kfp-empty", {"emptyDir": source}, empty.mount_path)
    for ephemeral in options.generic_ephemeral_volume:
        spec: dict[str, Any] = {"accessModes": list(ephemeral.access_modes) or ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": ephemeral.size}}}
        if ephemeral.storage_class_name and not ephemeral.default_storage_class:
            spec["storageClassName"] = ephemeral.storage_class_name
        claim: dict[str, Any] = {"spec": spec}
        if ephemeral.metadata is not None:
            claim["metadata"] = {k: v for k, v in (("labels", ephemeral.metadata.labels),
                                                   ("annotations", ephemeral.metadata.annotations)) if v}
        add("kfp-ephemeral", {"ephemeral": {"volumeClaimTemplate": claim}}, ephemeral.mount_path)
    if options.enabled_shared_memory is not None:
        memory = options.enabled_shared_memory
        source = {"medium": "Memory", **({"sizeLimit": memory.size} if memory.size else {})}
        add("kfp-shm", {"emptyDir": source}, "/dev/shm")


def _scheduling(options: ExecutorPlatform, template: dict[str, Any], collected: _Template) -> None:
    selector = options.node_selector
    if selector is not None:
        if selector.node_selector_json is not None:
            collected.patch["nodeSelector"] = collected.json_value(selector.node_selector_json, empty=EMPTY_MAP)
        elif selector.labels:
            template["nodeSelector"] = dict(selector.labels)
    tolerations = []
    for toleration in options.tolerations:
        if toleration.toleration_json is not None:
            collected.tolerations.append(collected.json_value(toleration.toleration_json))
            continue
        tolerations.append({k: v for k, v in (("key", toleration.key), ("operator", toleration.operator),
                                              ("value", toleration.value), ("effect", toleration.effect),
                                              ("tolerationSeconds", toleration.toleration_seconds)) if v})
    if tolerations:
        template["tolerations"] = tolerations
    affinity = static_affinity(options)
    for term in options.node_affinity:
        if term.node_affinity_json is not None:
            affinity_json = collected.json_value(term.node_affinity_json, empty=EMPTY_MAP)
            collected.patch["affinity"] = "{" + f"{_plain_key('nodeAffinity')}: {affinity_json}" + "}"
    if affinity:
        template["affinity"] = affinity


def _pod(options: ExecutorPlatform, template: dict[str, Any], container: dict[str, Any],
         collected: _Template) -> None:
    if options.pod_metadata is not None:
        metadata = template["metadata"]
        if options.pod_metadata.labels:
            metadata["labels"] = {**metadata.get("labels", {}), **options.pod_metadata.labels}
        if options.pod_metadata.annotations:
            metadata["annotations"] = {**options.pod_metadata.annotations, **metadata["annotations"]}
    if options.image_pull_policy:
        container["imagePullPolicy"] = options.image_pull_policy
    if options.active_deadline_seconds:
        template["activeDeadlineSeconds"] = options.active_deadline_seconds
    if options.security_context is not None:
        context = options.security_context
        container["securityContext"] = security_context(context)
    if options.image_pull_secret:
        names = [collected.string_code(secret.secret_name) for secret in options.image_pull_secret]
        listed = ", ".join("{" + _plain_key("name") + ": " + n + "}" for n in names)
        collected.patch["imagePullSecrets"] = f"filter([{listed}], #.name != '')"  # unset optional inputs: none
    for init in options.init_containers:
        template["initContainers"].append(init_container(init))
