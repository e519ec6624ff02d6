"""Kubernetes platform options (the IR's second document) as Tekton fields.

Step options (env from secrets, config maps and pod fields; mounts; image pull policy; security context)
go on the step that runs the launcher, volumes on the embedded task, scheduling options (node selector,
tolerations, affinity, image pull secrets) on the run's ``taskRunSpecs[].podTemplate``, pod labels and
annotations on the task's metadata (Tekton copies them to the pod), an active deadline on the pipeline
task's ``timeout``. A PVC made by ``CreatePVC`` is a workspace of the run. A value read from a parameter
or a task output becomes a task parameter, which Tekton substitutes in env sources, volume sources and the
pod template; JSON-valued options must be constants (the flattening pass refuses the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from driver.platform import ExecutorPlatform, ParamRef, PipelineConfig
from translators.kubernetes import init_container, security_context, static_affinity

WORKSPACE = "kfp-workspace"
WORKSPACE_PATH = "/kfp-workspace"


@dataclass
class TaskParts:
    """What the options add to one pipeline task."""

    main: dict[str, Any]
    volumes: list[dict[str, Any]]
    steps_before: list[dict[str, Any]] = field(default_factory=list)
    sidecars: list[dict[str, Any]] = field(default_factory=list)
    pod: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    workspaces: list[dict[str, Any]] = field(default_factory=list)
    bindings: list[dict[str, Any]] = field(default_factory=list)
    timeout: str = ""

    def mount(self, name: str, volume: dict[str, Any], mount_path: str, sub_path: str = "") -> None:
        self.volumes.append({"name": name, **volume})
        self.main["volumeMounts"].append({"name": name, "mountPath": mount_path,
                                          **({"subPath": sub_path} if sub_path else {})})

    def workspace(self, name: str, workspace: str, mount_path: str, sub_path: str = "") -> None:
        self.workspaces.append({"name": name, "mountPath": mount_path})
        self.bindings.append({"name": name, "workspace": workspace, **({"subPath": sub_path} if sub_path else {})})


@dataclass
class OptionValues:
    """How an option's value reaches the task: as text (a constant or a task parameter), as JSON, as a claim.
    ``text`` and ``json`` return None for an optional input nobody bound: the option is left out."""

    text: Callable[[ParamRef, str], str | None]
    json: Callable[[ParamRef], Any]
    claim: Callable[[ParamRef], str | None]


def pipeline_workspace(config: PipelineConfig | None) -> dict[str, Any] | None:
    """The run's binding of the pipeline workspace (``pipelineConfig.workspace``), if any."""
    if config is None or config.workspace is None:
        return None
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": config.workspace.size}}}
    if config.workspace.kubernetes is not None:
        spec.update(config.workspace.kubernetes.pvc_spec_patch)
    return {"name": WORKSPACE, "volumeClaimTemplate": {"spec": spec}}


def apply(options: ExecutorPlatform | None, parts: TaskParts, values: OptionValues, workspace: bool) -> None:
    """Add the component's options (and the pipeline workspace) to the task."""
    if workspace:
        parts.workspace(WORKSPACE, WORKSPACE, WORKSPACE_PATH)
        parts.main["env"].append({"name": "KFP_WORKSPACE_PATH", "value": WORKSPACE_PATH})
    if options is None:
        return
    _env(options, parts, values)
    _volumes(options, parts, values)
    _scheduling(options, parts, values)
    _pod(options, parts, values)


def _env(options: ExecutorPlatform, parts: TaskParts, values: OptionValues) -> None:
    env = parts.main["env"]
    for secret in options.secret_as_env:
        name = values.text(secret.secret_name, "secret-name")
        for pair in secret.key_to_env if name is not None else ():
            ref = {"name": name, "key": pair.secret_key, **({"optional": True} if secret.optional else {})}
            env.append({"name": pair.env_var, "valueFrom": {"secretKeyRef": ref}})
    for config_map in options.config_map_as_env:
        name = values.text(config_map.config_map_name, "config-map-name")
        for pair in config_map.key_to_env if name is not None else ():
            ref = {"name": name, "key": pair.config_map_key, **({"optional": True} if config_map.optional else {})}
            env.append({"name": pair.env_var, "valueFrom": {"configMapKeyRef": ref}})
    for item in options.field_path_as_env:
        env.append({"name": item.name, "valueFrom": {"fieldRef": {"fieldPath": item.field_path}}})


def _volumes(options: ExecutorPlatform, parts: TaskParts, values: OptionValues) -> None:
    def name(prefix: str) -> str:
        return f"{prefix}-{len(parts.volumes) + len(parts.workspaces)}"

    for secret in options.secret_as_volume:
        secret_name = values.text(secret.secret_name, "secret-name")
        if secret_name is not None:
            source = {"secretName": secret_name, **({"optional": True} if secret.optional else {})}
            parts.mount(name("kfp-secret"), {"secret": source}, secret.mount_path)
    for config_map in options.config_map_as_volume:
        config_map_name = values.text(config_map.config_map_name, "config-map-name")
        if config_map_name is not None:
            source = {"name": config_map_name, **({"optional": True} if config_map.optional else {})}
            parts.mount(name("kfp-config"), {"configMap": source}, config_map.mount_path)
    for pvc in options.pvc_mount:
        claim = values.claim(pvc.pvc_name)
        if claim is not None:
            parts.workspace(name("kfp-pvc"), claim, pvc.mount_path, pvc.sub_path)
            continue
        claim_name = values.text(pvc.pvc_name, "pvc-name")
        if claim_name is not None:
            parts.mount(name("kfp-pvc"), {"persistentVolumeClaim": {"claimName": claim_name}}, pvc.mount_path,
                        pvc.sub_path)
    for empty in options.empty_dir_mounts:
        source = {key: value for key, value in (("medium", empty.medium), ("sizeLimit", empty.size_limit)) if value}
        parts.mount(name("kfp-empty"), {"emptyDir": source}, empty.mount_path)
    for ephemeral in options.generic_ephemeral_volume:
        spec: dict[str, Any] = {"accessModes": list(ephemeral.access_modes) or ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": ephemeral.size}}}
        if ephemeral.storage_class_name and not ephemeral.default_storage_class:
            spec["storageClassName"] = ephemeral.storage_class_name
        claim_template: dict[str, Any] = {"spec": spec}
        if ephemeral.metadata is not None:
            claim_template["metadata"] = {k: v for k, v in (("labels", ephemeral.metadata.labels),
                                                            ("annotations", ephemeral.metadata.annotations)) if v}
        parts.mount(name("kfp-ephemeral"), {"ephemeral": {"volumeClaimTemplate": claim_template}},
                    ephemeral.mount_path)
    if options.enabled_shared_memory is not None:
        memory = options.enabled_shared_memory
        source = {"medium": "Memory", **({"sizeLimit": memory.size} if memory.size else {})}
        parts.mount(name("kfp-shm"), {"emptyDir": source}, "/dev/shm")


def _scheduling(options: ExecutorPlatform, parts: TaskParts, values: OptionValues) -> None:
    pod = parts.pod
    selector = options.node_selector
    if selector is not None:
        if selector.node_selector_json is not None:
            labels = values.json(selector.node_selector_json)
            if labels:
                pod["nodeSelector"] = dict(labels)
        elif selector.labels:
            pod["nodeSelector"] = dict(selector.labels)
    tolerations = []
    for toleration in options.tolerations:
        if toleration.toleration_json is not None:
            body = values.json(toleration.toleration_json)
            if body:
                tolerations.append(body)
            continue
        tolerations.append({k: v for k, v in (("key", toleration.key), ("operator", toleration.operator),
                                              ("value", toleration.value), ("effect", toleration.effect),
                                              ("tolerationSeconds", toleration.toleration_seconds)) if v})
    if tolerations:
        pod["tolerations"] = tolerations
    affinity = _affinity(options, values)
    if affinity:
        pod["affinity"] = affinity
    pull_secrets = [values.text(secret.secret_name, "image-pull-secret") for secret in options.image_pull_secret]
    if any(name is not None for name in pull_secrets):
        pod["imagePullSecrets"] = [{"name": name} for name in pull_secrets if name is not None]


def _affinity(options: ExecutorPlatform, values: OptionValues) -> dict[str, Any]:
    affinity = static_affinity(options)
    for term in options.node_affinity:
        if term.node_affinity_json is not None:
            body = values.json(term.node_affinity_json)
            if body:
                affinity["nodeAffinity"] = body
    return affinity


def _pod(options: ExecutorPlatform, parts: TaskParts, values: OptionValues) -> None:
    if options.pod_metadata is not None:
        for key in ("labels", "annotations"):
            extra = getattr(options.pod_metadata, key)
            if extra:
                parts.metadata[key] = {**extra, **parts.metadata.get(key, {})}
    if options.image_pull_policy:
        parts.main["imagePullPolicy"] = options.image_pull_policy
    if options.active_deadline_seconds:
        parts.timeout = f"{options.active_deadline_seconds}s"
    if options.security_context is not None:
        context = options.security_context
        parts.main["securityContext"] = security_context(context)
    for init in options.init_containers:
        step = init_container(init)
        if init.resources is not None:
            step["computeResources"] = {k: dict(v) for k, v in (("requests", init.resources.requests),
                                                               ("limits", init.resources.limits)) if v}
        # an init container that keeps running (restartPolicy Always) is a sidecar; the others run first
        (parts.sidecars if init.restart_policy == "Always" else parts.steps_before).append(step)
