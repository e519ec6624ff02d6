"""driver.platform: the typed Kubernetes platform spec (the IR's second YAML document)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from driver.errors import KfpDriverError, Location, ProblemList
from driver.ir import load_ir
from driver.platform import (ConfigMapAsEnv, EmptyDirMount, ExecutorPlatform, GenericEphemeralVolume, ImagePullSecret,
                             InitContainer, NodeAffinityTerm, ParamRef, PipelineConfig, PlatformSpec, PodMetadata,
                             PvcMount, SecretAsEnv, SecretKeyToEnv, SelectorRequirement, SharedMemory, TaskOutputRef,
                             Toleration)

CORPUS = Path(__file__).parents[1] / ".." / "shared" / "conformance" / "kfp-ir"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
EXEC = "platforms.kubernetes.deploymentSpec.executors['exec-a']"


def platform_documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(CORPUS.glob("*.yaml")):
        documents = list(yaml.load_all(path.read_text(), Loader=LOADER))
        if len(documents) == 2:
            found.append((path.name, documents[1]))
    return found


def document(executor: dict[str, Any] | None = None, **kubernetes: Any) -> dict[str, Any]:
    body: dict[str, Any] = dict(kubernetes)
    if executor is not None:
        body["deploymentSpec"] = {"executors": {"exec-a": executor}}
    return {"platforms": {"kubernetes": body}}


def problems_of(d: Any) -> list[str]:
    with pytest.raises(KfpDriverError) as caught:
        PlatformSpec.from_dict(d)
    error = caught.value
    return [str(p) for p in (error.problems if isinstance(error, ProblemList) else [error])]


def executor(options: dict[str, Any]) -> ExecutorPlatform:
    return PlatformSpec.from_dict(document(options)).executors["exec-a"]


# -- the corpus -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name, raw", platform_documents(), ids=lambda x: x if isinstance(x, str) else "")
def test_corpus_platform_documents_convert(name: str, raw: dict) -> None:
    spec = PlatformSpec.from_dict(raw)
    kubernetes = raw["platforms"]["kubernetes"]
    assert set(spec.executors) == set((kubernetes.get("deploymentSpec") or {}).get("executors") or {})
    assert (spec.pipeline_config is not None) == ("pipelineConfig" in kubernetes)


def test_corpus_has_platform_documents() -> None:
    assert len(platform_documents()) == 14


def test_secret_name_forms_normalise_to_param_refs() -> None:
    doc = load_ir(CORPUS / "critical__pipeline_with_secret_as_env.yaml")
    secrets = doc.platform.executors["exec-comp"].secret_as_env
    assert [s.secret_name for s in secrets] == [
        ParamRef(component_input="secret_parm"),
        ParamRef(constant="test-secret-2"),  # secretName and secretNameParameter.runtimeValue agree
        ParamRef(task_output=TaskOutputRef("generate-secret-name", "some_output")),
    ]
    assert secrets[0].key_to_env == (SecretKeyToEnv(secret_key="username", env_var="USER_NAME"),)
    assert secrets[0].optional is False


def test_pvc_mount_deprecated_forms_agree_with_pvc_name_parameter() -> None:
    volume = load_ir(CORPUS / "pipeline_with_volume.yaml").platform.executors["exec-producer"].pvc_mount[0]
    assert volume == PvcMount(pvc_name=ParamRef(task_output=TaskOutputRef("createpvc", "name")), mount_path="/data")
    for deprecated, value, expected in [
        ("taskOutputParameter", {"producerTask": "p", "outputParameterKey": "name"},
         ParamRef(task_output=TaskOutputRef("p", "name"))),
        ("componentInputParameter", "pvc", ParamRef(component_input="pvc")),
        ("constant", "my-pvc", ParamRef(constant="my-pvc")),
    ]:
        mount = executor({"pvcMount": [{deprecated: value, "mountPath": "/d"}]}).pvc_mount[0]
        assert mount == PvcMount(pvc_name=expected, mount_path="/d")


def test_deprecated_names_of_other_options() -> None:
    options = executor({
        "secretAsVolume": [{"secretName": "s", "mountPath": "/s"}],
        "configMapAsEnv": [{"configMapName": "c", "keyToEnv": [{"configMapKey": "k", "envVar": "K"}]}],
        "imagePullSecret": [{"secretName": "pull"}],
    })
    assert options.secret_as_volume[0].secret_name == ParamRef(constant="s")
    assert options.config_map_as_env[0] == ConfigMapAsEnv(ParamRef(constant="c"),
                                                          key_to_env=(options.config_map_as_env[0].key_to_env[0],))
    assert options.image_pull_secret == (ImagePullSecret(ParamRef(constant="pull")),)


def test_pipeline_config_workspace() -> None:
    config = load_ir(CORPUS / "critical__pipeline_with_workspace.yaml").platform.pipeline_config
    assert config.workspace.size == "1Gi"
    assert config.workspace.kubernetes.pvc_spec_patch == {"accessModes": ["ReadWriteOnce"],
                                                          "storageClassName": "standard"}
    ttl = PlatformSpec.from_dict(document(pipelineConfig={"resourceTtlOnCompletion": 60})).pipeline_config
    assert ttl == PipelineConfig(resource_ttl_on_completion=60)


# -- every option ---------------------------------------------------------------------------------

EVERY_OPTION = {
    "secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "s"},
                     "keyToEnv": [{"secretKey": "k", "envVar": "K"}], "optional": True}],
    "secretAsVolume": [{"secretNameParameter": {"runtimeValue": {"constant": "s"}}, "mountPath": "/s"}],
    "configMapAsEnv": [{"configMapNameParameter": {"runtimeValue": {"constant": "c"}},
                        "keyToEnv": [{"configMapKey": "k", "envVar": "K"}]}],
    "configMapAsVolume": [{"configMapNameParameter": {"componentInputParameter": "c"}, "mountPath": "/c",
                           "optional": False}],
    "pvcMount": [{"pvcNameParameter": {"runtimeValue": {"constant": "p"}}, "mountPath": "/p", "subPath": "sub"}],
    "nodeSelector": {"labels": {"disk": "ssd"}, "nodeSelectorJson": {"componentInputParameter": "sel"}},
    "nodeAffinity": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}], "weight": 5}],
    "podAffinity": [{"matchPodLabels": {"app": "db"}, "topologyKey": "kubernetes.io/hostname", "anti": True}],
    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": "30"}],
    "podMetadata": {"labels": {"l": "1"}, "annotations": {"a": "2"}},
    "imagePullSecret": [{"secretNameParameter": {"runtimeValue": {"constant": "pull"}}}],
    "imagePullPolicy": "IfNotPresent",
    "fieldPathAsEnv": [{"name": "POD", "fieldPath": "metadata.name"}],
    "activeDeadlineSeconds": "3600",
    "emptyDirMounts": [{"volumeName": "scratch", "mountPath": "/scratch", "medium": "Memory", "sizeLimit": "1Gi"}],
    "genericEphemeralVolume": [{"volumeName": "eph", "mountPath": "/eph", "size": "5Gi",
                                "accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                                "metadata": {"labels": {"x": "y"}}}],
    "enabledSharedMemory": {"volumeName": "shm", "size": "2Gi"},
    "securityContext": {"runAsUser": 1000, "runAsNonRoot": True},
    "initContainers": [{"name": "init", "image": "busybox", "command": ["sh"], "env": [{"name": "A", "value": "1"}],
                        "volumeMounts": [{"volumeName": "scratch", "mountPath": "/s"}],
                        "resources": {"limits": {"cpu": "1"}}}],
    "podResourceClaims": [{"resourceClaimTemplateName": "gpu-claim"}],
}


def test_every_option_converts_to_typed_fields() -> None:
    options = executor(EVERY_OPTION)
    assert options.secret_as_env == (SecretAsEnv(ParamRef(component_input="s"), (SecretKeyToEnv("k", "K"),), True),)
    assert options.pvc_mount[0].sub_path == "sub"
    assert options.node_selector.labels == {"disk": "ssd"}
    assert options.node_selector.node_selector_json == ParamRef(component_input="sel")
    assert options.node_affinity == (NodeAffinityTerm(
        match_expressions=(SelectorRequirement("zone", "In", ("a", "b")),), weight=5),)
    assert options.pod_affinity[0].anti is True
    assert options.tolerations == (Toleration(key="gpu", operator="Exists", effect="NoSchedule",
                                              toleration_seconds=30),)
    assert options.pod_metadata == PodMetadata(labels={"l": "1"}, annotations={"a": "2"})
    assert options.image_pull_secret[0].secret_name == ParamRef(constant="pull")
    assert options.image_pull_policy == "IfNotPresent"
    assert options.active_deadline_seconds == 3600
    assert options.empty_dir_mounts == (EmptyDirMount("scratch", "/scratch", "Memory", "1Gi"),)
    assert options.generic_ephemeral_volume == (GenericEphemeralVolume(
        "eph", "/eph", "5Gi", ("ReadWriteOnce",), False, "fast", PodMetadata(labels={"x": "y"})),)
    assert options.enabled_shared_memory == SharedMemory("shm", "2Gi")
    assert options.security_context.run_as_user == 1000 and options.security_context.run_as_group is None
    assert isinstance(options.init_containers[0], InitContainer)
    assert options.init_containers[0].resources.limits == {"cpu": "1"}
    assert options.pod_resource_claims[0].resource_claim_template_name == "gpu-claim"


def test_param_refs_walks_every_option_with_its_json_path() -> None:
    paths = [path for path, _ in executor(EVERY_OPTION).param_refs()]
    assert paths == [
        "secretAsEnv[0].secretNameParameter", "secretAsVolume[0].secretNameParameter",
        "configMapAsEnv[0].configMapNameParameter", "configMapAsVolume[0].configMapNameParameter",
        "pvcMount[0].pvcNameParameter", "nodeSelector.nodeSelectorJson",
        "imagePullSecret[0].secretNameParameter",
    ]


def test_model_is_frozen() -> None:
    with pytest.raises(AttributeError):
        executor(EVERY_OPTION).image_pull_policy = "Always"  # type: ignore[misc]


def test_param_ref_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError):
        ParamRef()
    with pytest.raises(ValueError):
        ParamRef(constant="a", component_input="b")


# -- problems -----------------------------------------------------------------------------------


def test_misspelt_field_names_path_and_suggestion() -> None:
    assert problems_of(document({"secretAsEnv": [{"secretNameParameter": {"componentInputParameter": "s"},
                                                  "keyToEnv": [{"secretKy": "a", "envVar": "B"}]}]})) == [
        f"{EXEC}.secretAsEnv[0].keyToEnv[0].secretKy: unknown field (did you mean 'secretKey'?)"]


@pytest.mark.parametrize("options, expected", [
    ({"tolerations": {}}, f"{EXEC}.tolerations: expected a list, got a mapping"),
    ({"podMetadata": {"labels": {"a": 1}}}, f"{EXEC}.podMetadata.labels['a']: expected a string, got an integer (1)"),
    ({"activeDeadlineSeconds": "soon"}, f"{EXEC}.activeDeadlineSeconds: expected an integer, got a string ('soon')"),
    ({"secretAsVolume": [{"secretName": "s", "mountPath": "/s", "optional": "yes"}]},
     f"{EXEC}.secretAsVolume[0].optional: expected true or false, got a string ('yes')"),
    ({"imagePullPolicy": "always"},
     f"{EXEC}.imagePullPolicy: 'always' is not one of Always, Never, IfNotPresent (did you mean 'Always'?)"),
    ({"secretAsVolume": [{"secretName": "s"}]}, f"{EXEC}.secretAsVolume[0]: missing required field 'mountPath'"),
    ({"secretAsEnv": [{"keyToEnv": []}]}, f"{EXEC}.secretAsEnv[0]: missing required field 'secretNameParameter'"),
    ({"pvcMount": [{"pvcNameParameter": {}, "mountPath": "/d"}]},
     f"{EXEC}.pvcMount[0].pvcNameParameter: needs exactly one of componentInputParameter, taskOutputParameter, "
     "runtimeValue (found none)"),
    ({"pvcMount": [{"pvcNameParameter": {"componentInputParameter": "a", "runtimeValue": {"constant": "b"}},
                    "mountPath": "/d"}]},
     f"{EXEC}.pvcMount[0].pvcNameParameter: needs exactly one of componentInputParameter, taskOutputParameter, "
     "runtimeValue (found componentInputParameter, runtimeValue)"),
    ({"nodeSelector": {"nodeSelectorJson": {"runtimeValue": {"constant": None}}}},
     f"{EXEC}.nodeSelector.nodeSelectorJson.runtimeValue: missing required field 'constant'"),
    ({"nodeSelector": {"nodeSelectorJson": {"componentInputParam": "x"}}},
     f"{EXEC}.nodeSelector.nodeSelectorJson.componentInputParam: unknown field "
     "(did you mean 'componentInputParameter'?)"),
    ({"tolerations": [{"tolerationJson": {"taskOutputParameter": {"producerTask": "t"}}}]},
     f"{EXEC}.tolerations[0].tolerationJson.taskOutputParameter: missing required field 'outputParameterKey'"),
])
def test_wrong_types_and_missing_fields(options: dict, expected: str) -> None:
    assert problems_of(document(options)) == [expected]


def test_every_problem_is_reported() -> None:
    options = copy.deepcopy(EVERY_OPTION)
    options["fieldPathAsEnv"][0]["fieldPth"] = options["fieldPathAsEnv"][0].pop("fieldPath")
    options["emptyDirMounts"][0]["mountPath"] = 7
    options["nodeSelectr"] = {}
    assert problems_of(document(options)) == [
        f"{EXEC}.nodeSelectr: unknown field (did you mean 'nodeSelector'?)",
        f"{EXEC}.fieldPathAsEnv[0].fieldPth: unknown field (did you mean 'fieldPath'?)",
        f"{EXEC}.emptyDirMounts[0].mountPath: expected a string, got an integer (7)",
    ]


@pytest.mark.parametrize("raw, expected", [
    ({"platforms": {"kubernets": {}}}, "platforms.kubernets: unknown field (did you mean 'kubernetes'?)"),
    ({"platform": {}}, "platform: unknown field (did you mean 'platforms'?)"),
    ({"platforms": {"kubernetes": {"deploymentSpec": {"executors": []}}}},
     "platforms.kubernetes.deploymentSpec.executors: expected a mapping of executor label to options, got a list"),
    (document(pipelineConfig={"workspace": {"kubernetes": {}}}),
     "platforms.kubernetes.pipelineConfig.workspace: missing required field 'size'"),
    (document(pipelineConfig={"workspace": {"size": "1Gi", "kubernetes": {"pvcSpecPatch": ["x"]}}}),
     "platforms.kubernetes.pipelineConfig.workspace.kubernetes.pvcSpecPatch: expected a mapping with string keys, "
     "got a list"),
])
def test_document_level_problems(raw: dict, expected: str) -> None:
    assert problems_of(raw) == [expected]


def test_null_means_not_set() -> None:
    assert executor({"podMetadata": None, "tolerations": None}) == ExecutorPlatform()
    assert PlatformSpec.from_dict(document(executor=None)) == PlatformSpec()


def test_location_function_is_used() -> None:
    with pytest.raises(KfpDriverError) as caught:
        PlatformSpec.from_dict(document({"imagePullPolicy": 1}), lambda path: Location("f.yaml", 9, path))
    assert str(caught.value) == f"f.yaml:9: {EXEC}.imagePullPolicy: expected a string, got an integer (1)"


def test_platform_errors_from_a_file_have_lines(tmp_path: Path) -> None:
    source = CORPUS / "pipeline_with_volume.yaml"
    path = tmp_path / source.name
    path.write_text(source.read_text().replace("mountPath: /data", "mountPth: /data", 1))
    with pytest.raises(KfpDriverError) as caught:
        load_ir(path)
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "mountPth" in row)
    assert str(caught.value) == (f"{path}:{line}: platforms.kubernetes.deploymentSpec.executors['exec-consumer']"
                                 ".pvcMount[0].mountPth: unknown field (did you mean 'mountPath'?)")
