"""Typed model of the Kubernetes platform spec (the IR's optional second YAML document).

The document looks like ``platforms: {kubernetes: {deploymentSpec: {executors: {<label>: ...}},
pipelineConfig: ...}}``; each executor entry is a ``KubernetesExecutorConfig`` of kfp-kubernetes, written
with the JSON (camelCase) field names. ``PlatformSpec.from_dict`` converts it into frozen dataclasses,
rejects unknown fields and wrong types with the IR path, and folds deprecated spellings
(``secretName`` next to ``secretNameParameter``, ``pvcMount.taskOutputParameter`` next to
``pvcNameParameter``, ...) into the same ``ParamRef``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from driver.errors import IRError, Location, describe, did_you_mean, join_path, raise_if_any, unknown_field_hint

LocationFn = Callable[[str], Location]

# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class TaskOutputRef:
    """An output parameter of a sibling task in the DAG that runs the executor."""

    producer_task: str
    output_key: str


@dataclass(frozen=True)
class ParamRef:
    """A value that may come from a pipeline parameter: exactly one of the three fields is set.

    ``constant`` is a JSON value fixed at compile time, ``component_input`` names an input of the DAG
    enclosing the task, ``task_output`` an output of a sibling task.
    """

    constant: Any = None
    component_input: str | None = None
    task_output: TaskOutputRef | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.constant, self.component_input, self.task_output)) != 1:
            raise ValueError("ParamRef needs exactly one of constant, component_input, task_output")


@dataclass(frozen=True)
class SecretKeyToEnv:
    secret_key: str
    env_var: str


@dataclass(frozen=True)
class SecretAsEnv:
    secret_name: ParamRef
    key_to_env: tuple[SecretKeyToEnv, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class SecretAsVolume:
    secret_name: ParamRef
    mount_path: str
    optional: bool = False


@dataclass(frozen=True)
class ConfigMapKeyToEnv:
    config_map_key: str
    env_var: str


@dataclass(frozen=True)
class ConfigMapAsEnv:
    config_map_name: ParamRef
    key_to_env: tuple[ConfigMapKeyToEnv, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class ConfigMapAsVolume:
    config_map_name: ParamRef
    mount_path: str
    optional: bool = False


@dataclass(frozen=True)
class PvcMount:
    pvc_name: ParamRef
    mount_path: str
    sub_path: str = ""


@dataclass(frozen=True)
class NodeSelector:
    """Node labels; ``node_selector_json`` (a JSON object of labels) takes precedence when set."""

    labels: dict[str, str] = field(default_factory=dict)
    node_selector_json: ParamRef | None = None


@dataclass(frozen=True)
class SelectorRequirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeAffinityTerm:
    """A required term, or a preferred one when ``weight`` is set; ``node_affinity_json`` wins when set."""

    match_expressions: tuple[SelectorRequirement, ...] = ()
    match_fields: tuple[SelectorRequirement, ...] = ()
    weight: int | None = None
    node_affinity_json: ParamRef | None = None


@dataclass(frozen=True)
class PodAffinityTerm:
    """Pod (anti-)affinity; preferred rather than required when ``weight`` is set."""

    match_pod_expressions: tuple[SelectorRequirement, ...] = ()
    match_pod_labels: dict[str, str] = field(default_factory=dict)
    topology_key: str = ""
    namespaces: tuple[str, ...] = ()
    match_namespace_expressions: tuple[SelectorRequirement, ...] = ()
    match_namespace_labels: dict[str, str] = field(default_factory=dict)
    weight: int | None = None
    anti: bool = False


@dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration; ``toleration_json`` (a whole toleration object) wins when set."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None
    toleration_json: ParamRef | None = None


@dataclass(frozen=True)
class PodMetadata:
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImagePullSecret:
    secret_name: ParamRef


@dataclass(frozen=True)
class FieldPathAsEnv:
    name: str
    field_path: str


@dataclass(frozen=True)
class EmptyDirMount:
    volume_name: str
    mount_path: str
    medium: str | None = None
    size_limit: str | None = None


@dataclass(frozen=True)
class GenericEphemeralVolume:
    volume_name: str
    mount_path: str
    size: str
    access_modes: tuple[str, ...] = ()
    default_storage_class: bool = False
    storage_class_name: str = ""
    metadata: PodMetadata | None = None


@dataclass(frozen=True)
class SharedMemory:
    """``enabledSharedMemory``: a memory-backed emptyDir mounted at /dev/shm."""

    volume_name: str = ""
    size: str = ""


@dataclass(frozen=True)
class SecurityContext:
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str = ""


@dataclass(frozen=True)
class VolumeMount:
    volume_name: str
    mount_path: str


@dataclass(frozen=True)
class ResourceRequirements:
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InitContainer:
    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    restart_policy: str | None = None
    resources: ResourceRequirements | None = None


@dataclass(frozen=True)
class PodResourceClaim:
    """A dynamic resource allocation claim: a template name, or a JSON claim (which wins when set)."""

    resource_claim_template_name: str = ""
    resource_claim_json: ParamRef | None = None


@dataclass(frozen=True)
class ExecutorPlatform:
    """Kubernetes options of one executor (``deploymentSpec.executors[<label>]``)."""

    secret_as_env: tuple[SecretAsEnv, ...] = ()
    secret_as_volume: tuple[SecretAsVolume, ...] = ()
    config_map_as_env: tuple[ConfigMapAsEnv, ...] = ()
    config_map_as_volume: tuple[ConfigMapAsVolume, ...] = ()
    pvc_mount: tuple[PvcMount, ...] = ()
    node_selector: NodeSelector | None = None
    node_affinity: tuple[NodeAffinityTerm, ...] = ()
    pod_affinity: tuple[PodAffinityTerm, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    pod_metadata: PodMetadata | None = None
    image_pull_secret: tuple[ImagePullSecret, ...] = ()
    image_pull_policy: str | None = None
    field_path_as_env: tuple[FieldPathAsEnv, ...] = ()
    active_deadline_seconds: int | None = None
    empty_dir_mounts: tuple[EmptyDirMount, ...] = ()
    generic_ephemeral_volume: tuple[GenericEphemeralVolume, ...] = ()
    enabled_shared_memory: SharedMemory | None = None
    security_context: SecurityContext | None = None
    init_containers: tuple[InitContainer, ...] = ()
    pod_resource_claims: tuple[PodResourceClaim, ...] = ()

    def param_refs(self) -> list[tuple[str, ParamRef]]:
        """Every ``ParamRef`` in these options, with its path relative to the executor entry."""
        return list(_param_refs(self, ""))


@dataclass(frozen=True)
class KubernetesWorkspace:
    pvc_spec_patch: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkspaceConfig:
    """The pipeline's shared workspace volume."""

    size: str
    kubernetes: KubernetesWorkspace | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """Pipeline-wide Kubernetes options (``platforms.kubernetes.pipelineConfig``)."""

    workspace: WorkspaceConfig | None = None
    resource_ttl_on_completion: int | None = None
    resource_ttl_on_success: int | None = None
    resource_ttl_on_failure: int | None = None
    active_deadline_seconds: int | None = None


PLATFORM_PATH = "platforms.kubernetes"
EXECUTORS_PATH = f"{PLATFORM_PATH}.deploymentSpec.executors"


@dataclass(frozen=True)
class PlatformSpec:
    """The Kubernetes platform spec: options per executor label, and pipeline-wide options."""

    executors: dict[str, ExecutorPlatform] = field(default_factory=dict)
    pipeline_config: PipelineConfig | None = None

    @classmethod
    def from_dict(cls, d: Any, doc_location_fn: LocationFn = lambda p: Location(ir_path=p)) -> PlatformSpec:
        """Convert the platform document (``{"platforms": {"kubernetes": ...}}``); raise every problem found."""
        reader = _Reader(doc_location_fn)
        spec = _platform_document(reader, d, "")
        raise_if_any(reader.problems)
        return spec

    @staticmethod
    def executor_path(label: str) -> str:
        """IR path of one executor's options."""
        return join_path(EXECUTORS_PATH, label, key=True)


def _param_refs(value: Any, path: str) -> Iterator[tuple[str, ParamRef]]:
    """Walk a model value, yielding (path, ParamRef) in field order."""
    if isinstance(value, ParamRef):
        yield path, value
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _param_refs(item, join_path(path, i))
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _param_refs(getattr(value, f.name), join_path(path, _JSON_KEYS[type(value)][f.name]))


# ---------------------------------------------------------------------------------------------
# Conversion: small converters (reader, value, path) -> model value, or _INVALID after a problem


_INVALID: Any = object()
_JSON_KEYS: dict[type, dict[str, str]] = {}
"""Per model class: attribute -> the (current) JSON key it is read from."""
Converter = Callable[["_Reader", Any, str], Any]


class _Reader:
    """Collects problems while converting the document."""

    def __init__(self, location: LocationFn) -> None:
        self.location = location
        self.problems: list[IRError] = []

    def problem(self, path: str, message: str, hint: str = "") -> Any:
        self.problems.append(IRError(message, location=self.location(path), hint=hint))
        return _INVALID

    def wrong_type(self, path: str, expected: str, value: Any) -> Any:
        return self.problem(path, f"expected {expected}, got {describe(value)}")


def _failed(values: Iterable[Any]) -> bool:
    return any(value is _INVALID for value in values)


def _string(r: _Reader, v: Any, path: str) -> Any:
    return v if isinstance(v, str) else r.wrong_type(path, "a string", v)


def _boolean(r: _Reader, v: Any, path: str) -> Any:
    return v if isinstance(v, bool) else r.wrong_type(path, "true or false", v)


def _integer(r: _Reader, v: Any, path: str) -> Any:
    """An int, or (proto JSON for 64-bit integers) a string holding one."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            pass
    return r.wrong_type(path, "an integer", v)


_PVC_SPEC_FIELDS = {
    "accessModes": "a list of strings", "storageClassName": "a string", "volumeMode": "a string",
    "volumeName": "a string", "volumeAttributesClassName": "a string", "resources": "a mapping",
    "selector": "a mapping", "dataSource": "a mapping", "dataSourceRef": "a mapping",
}
_KIND_OK = {
    "a string": lambda v: isinstance(v, str),
    "a mapping": lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v),
    "a list of strings": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}


def _pvc_spec_patch(r: _Reader, v: Any, path: str) -> Any:
    """Fields merged into a PersistentVolumeClaim's spec (top level typed); null values are dropped, as unset."""
    if not _KIND_OK["a mapping"](v):
        return r.wrong_type(path, "a mapping with string keys", v)
    patch = _without_nulls(v)
    for key, value in patch.items():
        kind = _PVC_SPEC_FIELDS.get(key)
        if kind is None:
            r.problem(join_path(path, str(key)), "unknown PersistentVolumeClaim spec field",
                      unknown_field_hint(str(key), list(_PVC_SPEC_FIELDS)))
        elif not _KIND_OK[kind](value):
            r.wrong_type(join_path(path, key), kind, value)
    return patch


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value if v is not None]
    return value


def _one_of(*choices: str) -> Converter:
    def convert(r: _Reader, v: Any, path: str) -> Any:
        if not isinstance(v, str):
            return r.wrong_type(path, "a string", v)
        if v in choices:
            return v
        return r.problem(path, f"'{v}' is not one of {', '.join(choices)}", did_you_mean(v, choices))
    return convert


def _list(item: Converter) -> Converter:
    def convert(r: _Reader, v: Any, path: str) -> Any:
        if not isinstance(v, list):
            return r.wrong_type(path, "a list", v)
        items = tuple(item(r, x, join_path(path, i)) for i, x in enumerate(v))
        return _INVALID if _failed(items) else items
    return convert


def _string_map(r: _Reader, v: Any, path: str) -> Any:
    if not isinstance(v, dict):
        return r.wrong_type(path, "a mapping", v)
    values = {k: _string(r, x, join_path(path, str(k), key=True)) for k, x in v.items()}
    return _INVALID if _failed(values.values()) else {str(k): x for k, x in values.items()}


def _message(cls: type, fields: dict[str, tuple[str, Converter]]) -> Converter:
    """Converter for a mapping with known keys into ``cls``.

    ``fields`` maps each JSON key to (attribute, converter); several keys may feed one attribute
    (a deprecated spelling first, the current one last: the last key present wins). A null value
    means "not set", as in proto JSON.
    """
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    preferred_key = {attr: key for key, (attr, _) in fields.items()}
    _JSON_KEYS[cls] = preferred_key

    def convert(r: _Reader, v: Any, path: str) -> Any:
        if not isinstance(v, dict):
            return r.wrong_type(path, "a mapping", v)
        unknown = [key for key in v if key not in fields]
        for key in unknown:
            r.problem(join_path(path, str(key)), "unknown field", unknown_field_hint(str(key), list(fields)))
        values: dict[str, Any] = {}
        failed = bool(unknown)
        for key, (attr, conv) in fields.items():
            if v.get(key) is None:
                continue
            value = conv(r, v[key], join_path(path, key))
            failed |= value is _INVALID
            if value is not _INVALID:
                values[attr] = value
        for attr in sorted(required - values.keys()):
            if not failed:
                r.problem(path, f"missing required field '{preferred_key[attr]}'")
            failed = True
        return _INVALID if failed else cls(**values)
    return convert


# -- ParamRef: the InputParameterSpec subset a platform option can use --------------------------

_TASK_OUTPUT = _message(TaskOutputRef, {"producerTask": ("producer_task", _string),
                                        "outputParameterKey": ("output_key", _string)})
_PARAM_KINDS = ("componentInputParameter", "taskOutputParameter", "runtimeValue")


def _runtime_constant(r: _Reader, v: Any, path: str) -> Any:
    if not isinstance(v, dict):
        return r.wrong_type(path, "a mapping", v)
    for key in v:
        if key != "constant":
            r.problem(join_path(path, str(key)), "unknown field", unknown_field_hint(str(key), ["constant"]))
    if v.get("constant") is None:
        return r.problem(path, "missing required field 'constant'")
    return ParamRef(constant=v["constant"])


def _param(r: _Reader, v: Any, path: str) -> Any:
    """``{componentInputParameter: x}`` | ``{taskOutputParameter: {...}}`` | ``{runtimeValue: {constant: v}}``."""
    if not isinstance(v, dict):
        return r.wrong_type(path, "a mapping", v)
    unknown = [key for key in v if key not in _PARAM_KINDS]
    for key in unknown:
        r.problem(join_path(path, str(key)), "unknown field", unknown_field_hint(str(key), list(_PARAM_KINDS)))
    kinds = [k for k in _PARAM_KINDS if v.get(k) is not None]
    if unknown and not kinds:
        return _INVALID
    if len(kinds) != 1:
        found = f"found {', '.join(kinds)}" if kinds else "found none"
        return r.problem(path, f"needs exactly one of {', '.join(_PARAM_KINDS)} ({found})")
    kind = kinds[0]
    return _param_kind(r, kind, v[kind], join_path(path, kind))


def _param_kind(r: _Reader, kind: str, v: Any, path: str) -> Any:
    if kind == "componentInputParameter":
        name = _string(r, v, path)
        return name if name is _INVALID else ParamRef(component_input=name)
    if kind == "taskOutputParameter":
        ref = _TASK_OUTPUT(r, v, path)
        return ref if ref is _INVALID else ParamRef(task_output=ref)
    return _runtime_constant(r, v, path)


def _constant_string(r: _Reader, v: Any, path: str) -> Any:
    """A deprecated plain-string name (``secretName``, ``configMapName``, ``pvcMount.constant``)."""
    name = _string(r, v, path)
    return name if name is _INVALID else ParamRef(constant=name)


def _parent_input(r: _Reader, v: Any, path: str) -> Any:
    return _param_kind(r, "componentInputParameter", v, path)


def _task_output(r: _Reader, v: Any, path: str) -> Any:
    return _param_kind(r, "taskOutputParameter", v, path)


# -- the executor options ---------------------------------------------------------------------

_POD_METADATA = _message(PodMetadata, {"labels": ("labels", _string_map),
                                       "annotations": ("annotations", _string_map)})
_SELECTOR_REQUIREMENT = _list(_message(SelectorRequirement, {
    "key": ("key", _string), "operator": ("operator", _string), "values": ("values", _list(_string))}))

_EXECUTOR = _message(ExecutorPlatform, {
    "secretAsEnv": ("secret_as_env", _list(_message(SecretAsEnv, {
        "secretName": ("secret_name", _constant_string),
        "secretNameParameter": ("secret_name", _param),
        "keyToEnv": ("key_to_env", _list(_message(SecretKeyToEnv, {
            "secretKey": ("secret_key", _string), "envVar": ("env_var", _string)}))),
        "optional": ("optional", _boolean),
    }))),
    "secretAsVolume": ("secret_as_volume", _list(_message(SecretAsVolume, {
        "secretName": ("secret_name", _constant_string),
        "secretNameParameter": ("secret_name", _param),
        "mountPath": ("mount_path", _string),
        "optional": ("optional", _boolean),
    }))),
    "configMapAsEnv": ("config_map_as_env", _list(_message(ConfigMapAsEnv, {
        "configMapName": ("config_map_name", _constant_string),
        "configMapNameParameter": ("config_map_name", _param),
        "keyToEnv": ("key_to_env", _list(_message(ConfigMapKeyToEnv, {
            "configMapKey": ("config_map_key", _string), "envVar": ("env_var", _string)}))),
        "optional": ("optional", _boolean),
    }))),
    "configMapAsVolume": ("config_map_as_volume", _list(_message(ConfigMapAsVolume, {
        "configMapName": ("config_map_name", _constant_string),
        "configMapNameParameter": ("config_map_name", _param),
        "mountPath": ("mount_path", _string),
        "optional": ("optional", _boolean),
    }))),
    "pvcMount": ("pvc_mount", _list(_message(PvcMount, {
        "constant": ("pvc_name", _constant_string),
        "componentInputParameter": ("pvc_name", _parent_input),
        "taskOutputParameter": ("pvc_name", _task_output),
        "pvcNameParameter": ("pvc_name", _param),
        "mountPath": ("mount_path", _string),
        "subPath": ("sub_path", _string),
    }))),
    "nodeSelector": ("node_selector", _message(NodeSelector, {
        "labels": ("labels", _string_map), "nodeSelectorJson": ("node_selector_json", _param)})),
    "nodeAffinity": ("node_affinity", _list(_message(NodeAffinityTerm, {
        "matchExpressions": ("match_expressions", _SELECTOR_REQUIREMENT),
        "matchFields": ("match_fields", _SELECTOR_REQUIREMENT),
        "weight": ("weight", _integer),
        "nodeAffinityJson": ("node_affinity_json", _param),
    }))),
    "podAffinity": ("pod_affinity", _list(_message(PodAffinityTerm, {
        "matchPodExpressions": ("match_pod_expressions", _SELECTOR_REQUIREMENT),
        "matchPodLabels": ("match_pod_labels", _string_map),
        "topologyKey": ("topology_key", _string),
        "namespaces": ("namespaces", _list(_string)),
        "matchNamespaceExpressions": ("match_namespace_expressions", _SELECTOR_REQUIREMENT),
        "matchNamespaceLabels": ("match_namespace_labels", _string_map),
        "weight": ("weight", _integer),
        "anti": ("anti", _boolean),
    }))),
    "tolerations": ("tolerations", _list(_message(Toleration, {
        "key": ("key", _string), "operator": ("operator", _string), "value": ("value", _string),
        "effect": ("effect", _string), "tolerationSeconds": ("toleration_seconds", _integer),
        "tolerationJson": ("toleration_json", _param),
    }))),
    "podMetadata": ("pod_metadata", _POD_METADATA),
    "imagePullSecret": ("image_pull_secret", _list(_message(ImagePullSecret, {
        "secretName": ("secret_name", _constant_string),
        "secretNameParameter": ("secret_name", _param),
    }))),
    "imagePullPolicy": ("image_pull_policy", _one_of("Always", "Never", "IfNotPresent")),
    "fieldPathAsEnv": ("field_path_as_env", _list(_message(FieldPathAsEnv, {
        "name": ("name", _string), "fieldPath": ("field_path", _string)}))),
    "activeDeadlineSeconds": ("active_deadline_seconds", _integer),
    "emptyDirMounts": ("empty_dir_mounts", _list(_message(EmptyDirMount, {
        "volumeName": ("volume_name", _string), "mountPath": ("mount_path", _string),
        "medium": ("medium", _string), "sizeLimit": ("size_limit", _string),
    }))),
    "genericEphemeralVolume": ("generic_ephemeral_volume", _list(_message(GenericEphemeralVolume, {
        "volumeName": ("volume_name", _string), "mountPath": ("mount_path", _string),
        "accessModes": ("access_modes", _list(_string)), "size": ("size", _string),
        "defaultStorageClass": ("default_storage_class", _boolean),
        "storageClassName": ("storage_class_name", _string),
        "metadata": ("metadata", _POD_METADATA),
    }))),
    "enabledSharedMemory": ("enabled_shared_memory", _message(SharedMemory, {
        "volumeName": ("volume_name", _string), "size": ("size", _string)})),
    "securityContext": ("security_context", _message(SecurityContext, {
        "runAsUser": ("run_as_user", _integer), "runAsGroup": ("run_as_group", _integer),
        "runAsNonRoot": ("run_as_non_root", _boolean),
    })),
    "initContainers": ("init_containers", _list(_message(InitContainer, {
        "name": ("name", _string), "image": ("image", _string),
        "command": ("command", _list(_string)), "args": ("args", _list(_string)),
        "env": ("env", _list(_message(EnvVar, {"name": ("name", _string), "value": ("value", _string)}))),
        "volumeMounts": ("volume_mounts", _list(_message(VolumeMount, {
            "volumeName": ("volume_name", _string), "mountPath": ("mount_path", _string)}))),
        "restartPolicy": ("restart_policy", _string),
        "resources": ("resources", _message(ResourceRequirements, {
            "requests": ("requests", _string_map), "limits": ("limits", _string_map)})),
    }))),
    "podResourceClaims": ("pod_resource_claims", _list(_message(PodResourceClaim, {
        "resourceClaimTemplateName": ("resource_claim_template_name", _string),
        "resourceClaimJson": ("resource_claim_json", _param),
    }))),
})


def _executors(r: _Reader, v: Any, path: str) -> Any:
    if not isinstance(v, dict):
        return r.wrong_type(path, "a mapping of executor label to options", v)
    executors = {str(label): _EXECUTOR(r, raw if raw is not None else {}, join_path(path, str(label), key=True))
                 for label, raw in v.items()}
    return _INVALID if _failed(executors.values()) else executors


@dataclass(frozen=True)
class _DeploymentSpec:
    executors: dict[str, ExecutorPlatform] = field(default_factory=dict)


@dataclass(frozen=True)
class _Kubernetes:
    deployment_spec: _DeploymentSpec = _DeploymentSpec()
    pipeline_config: PipelineConfig | None = None


@dataclass(frozen=True)
class _Platforms:
    kubernetes: _Kubernetes = _Kubernetes()


@dataclass(frozen=True)
class _Document:
    platforms: _Platforms = _Platforms()


_PIPELINE_CONFIG = _message(PipelineConfig, {
    "workspace": ("workspace", _message(WorkspaceConfig, {
        "size": ("size", _string),
        "kubernetes": ("kubernetes", _message(KubernetesWorkspace, {
            "pvcSpecPatch": ("pvc_spec_patch", _pvc_spec_patch)})),
    })),
    "resourceTtlOnCompletion": ("resource_ttl_on_completion", _integer),
    "resourceTtlOnSuccess": ("resource_ttl_on_success", _integer),
    "resourceTtlOnFailure": ("resource_ttl_on_failure", _integer),
    "activeDeadlineSeconds": ("active_deadline_seconds", _integer),
})

_DOCUMENT = _message(_Document, {"platforms": ("platforms", _message(_Platforms, {
    "kubernetes": ("kubernetes", _message(_Kubernetes, {
        "deploymentSpec": ("deployment_spec", _message(_DeploymentSpec, {"executors": ("executors", _executors)})),
        "pipelineConfig": ("pipeline_config", _PIPELINE_CONFIG),
    })),
}))})


def _platform_document(r: _Reader, v: Any, path: str) -> Any:
    document = _DOCUMENT(r, v, path)
    if document is _INVALID:
        return _INVALID
    kubernetes = document.platforms.kubernetes
    return PlatformSpec(executors=kubernetes.deployment_spec.executors, pipeline_config=kubernetes.pipeline_config)
