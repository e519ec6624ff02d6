"""Argo templates for executed tasks: the launcher-wrapped container, and PVC create/delete resources."""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from driver.plan.model import Binding, Component, ContainerExecutor, Plan, Retry
from driver.plan.taskspec import task_spec
from translators.argo import exprs
from translators.argo.platform import PlatformFields
from translators.kubernetes import container_resources, resource_inputs
from translators.options import CompileOptions

LAUNCHER_VOLUME = "kfp-launcher"
LAUNCHER_DIR = "/kfp"
LAUNCHER_BIN = f"{LAUNCHER_DIR}/kfp-launcher"
OUTPUTS_DIR = f"{LAUNCHER_DIR}/outputs"
LAUNCHER_IN_IMAGE = "/usr/local/bin/kfp-launcher"
CREDENTIALS_VOLUME = "kfp-store-credentials"
CREDENTIALS_DIR = "/kfp-store-credentials"
ANNOTATION_PREFIX = "kfp-driver.io"


class ContainerTemplates:
    """Builds one container template per component variant."""

    def __init__(self, plan: Plan, options: CompileOptions, problem: Callable[..., None]) -> None:
        self.plan = plan
        self.options = options
        self.problem = problem
        self.platform = PlatformFields(plan, problem)

    def workflow_fields(self) -> dict[str, Any]:
        """Workflow-wide fields: the run's workspace volume, if the pipeline asks for one."""
        return self.platform.workflow_fields()

    def template(self, name: str, component: Component, parameters: frozenset[str], artifacts: frozenset[str],
                 retry: Retry | None, cache: bool) -> dict[str, Any]:
        executor = component.executor
        assert isinstance(executor, ContainerExecutor)
        from translators.argo.workflow import PIPELINE_ROOT_PARAM, TASK_PATH_PARAM

        output_root = "/".join([exprs.workflow_param(PIPELINE_ROOT_PARAM), exprs.RUN_ID,
                                exprs.input_param(TASK_PATH_PARAM), exprs.tag("pod.name")])
        records = "/".join([exprs.workflow_param(PIPELINE_ROOT_PARAM), exprs.RUN_ID, ".records"])
        # one argv entry per option (--name=value): values never pass through a shell
        args = [
            f"--spec={exprs.json_without_tags(task_spec(component))}",
            f"--run-id={exprs.RUN_ID}",
            f"--job-name={exprs.RUN_NAME}",
            f"--task-path={exprs.input_param(TASK_PATH_PARAM)}",
            f"--pipeline-root={exprs.workflow_param(PIPELINE_ROOT_PARAM)}",
            f"--output-root={output_root}",
            f"--outputs-dir={OUTPUTS_DIR}",
            f"--records={records}",
            "--escape-tags",  # values on Argo's channel are tag-escaped (launcher/wire.py)
        ]
        args += [f"--param={name}={exprs.input_param(name)}" for name in sorted(parameters)
                 if name in component.inputs.parameters]  # the rest only feed resources
        args += [f"--artifact={name}={exprs.input_param(name)}" for name in sorted(artifacts)]
        args.append("--cache" if cache else "--no-cache")
        if retry is not None:  # Argo numbers attempts from 0 in {{retries}} (defined with a retryStrategy only)
            args.append(f"--attempt={exprs.expression('asInt(retries) + 1')}")
        container: dict[str, Any] = {
            "name": "main",
            "image": executor.image,
            "command": [LAUNCHER_BIN],
            "args": args,
            "env": self.env(executor),
            "volumeMounts": [{"name": LAUNCHER_VOLUME, "mountPath": LAUNCHER_DIR}],
        }
        resources = container_resources(executor)
        dynamic = resource_inputs(executor)
        if dynamic:  # quantities from inputs: Argo substitutes them into a pod spec patch, not the typed field
            missing = sorted(dynamic - parameters)
            if missing:
                self.problem(None, f"component '{component.name}': resources read inputs {missing} that are not passed")
            resources = container_resources(executor, fill=_quantity_of_input)
            patch = {"containers": [{"name": "main", "resources": resources}]}
            resources = {}
        if resources:
            container["resources"] = resources
        inputs = [{"name": TASK_PATH_PARAM}] + [{"name": n} for n in sorted(parameters | artifacts)]
        outputs = [{"name": n, "valueFrom": {"path": f"{OUTPUTS_DIR}/parameters/{n}"}}
                   for n in sorted(component.outputs.parameters)]
        outputs += [{"name": n, "valueFrom": {"path": f"{OUTPUTS_DIR}/artifacts/{n}"}}
                    for n in sorted(component.outputs.artifacts)]
        template: dict[str, Any] = {
            "name": name,
            "metadata": {
                "annotations": {f"{ANNOTATION_PREFIX}/component": component.name,
                                f"{ANNOTATION_PREFIX}/task-path": exprs.input_param(TASK_PATH_PARAM)},
            },
            "inputs": {"parameters": inputs},
        }
        if outputs:
            template["outputs"] = {"parameters": outputs}
        template["initContainers"] = [{
            "name": "kfp-launcher-install",
            "image": self.options.launcher_image,
            "command": ["cp", LAUNCHER_IN_IMAGE, LAUNCHER_BIN],
            "volumeMounts": [{"name": LAUNCHER_VOLUME, "mountPath": LAUNCHER_DIR}],
        }]
        template["volumes"] = [{"name": LAUNCHER_VOLUME, "emptyDir": {}}]
        template["container"] = container
        if retry is not None:
            template["retryStrategy"] = _retry_strategy(retry)
        if dynamic:
            template["podSpecPatch"] = json.dumps(patch, separators=(",", ":"))
        self.store_credentials(template)
        self.platform.apply(template, component)
        return template

    def env(self, executor: ContainerExecutor) -> list[dict[str, Any]]:
        env: list[dict[str, Any]] = []
        store = self.options.store
        if store.endpoint:
            env.append({"name": "KFP_S3_ENDPOINT", "value": store.endpoint})
        if store.region:
            env.append({"name": "AWS_REGION", "value": store.region})
        if store.secret:
            env.append({"name": "KFP_S3_CREDENTIALS_DIR", "value": CREDENTIALS_DIR})
        env += [{"name": key, "value": value} for key, value in executor.env.items()]
        return env

    def store_credentials(self, template: dict[str, Any]) -> None:
        """Store credentials as files from the secret, not env vars: Kubernetes expands ``$(VAR)`` in container
        args, so a credential in the env could be pulled into a user value that happens to name it."""
        store = self.options.store
        if not store.secret:
            return
        items = [{"key": store.access_key_key, "path": "accesskey"}, {"key": store.secret_key_key, "path": "secretkey"}]
        template["volumes"].append({"name": CREDENTIALS_VOLUME, "secret": {"secretName": store.secret, "items": items}})
        template["container"]["volumeMounts"].append(
            {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_DIR, "readOnly": True})

    def platform_arguments(self, template_name: str, resolve: Callable[[Binding], Any]) -> list[dict[str, str]]:
        """Per-task values the template's platform options read (secret names from parameters, ...)."""
        return self.platform.arguments(template_name, resolve)

    def pvc_template(self, name: str, component: Component, bound: frozenset[str]) -> dict[str, Any]:
        """kfp-kubernetes CreatePVC/DeletePVC as Argo resource templates (the manifest is JSON, values via toJson)."""
        executor = component.executor
        action = getattr(executor, "action")

        def param(key: str) -> str:
            return exprs.var_input(key)

        def json_of(code: str) -> str:
            return exprs.expression(f"toJson({code})")

        if action == "create":
            name_code = (f"({param('pvc_name')} != \"\" ? {param('pvc_name')} : "
                         f"workflow.name + {param('pvc_name_suffix')})")
            spec: dict[str, Any] = {"accessModes": "@access_modes", "resources": {"requests": {"storage": "@size"}}}
            manifest = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "@name", "annotations": "@annotations"}, "spec": spec}
            replacements = {
                "@name": json_of(name_code),
                "@annotations": json_of(f"{param('annotations')} == \"\" ? {{}} : fromJSON({param('annotations')})"),
                "@access_modes": json_of(f"fromJSON({param('access_modes')})"),
                "@size": json_of(param("size")),
            }
            if "storage_class_name" in bound:
                spec["storageClassName"] = "@storage_class_name"
                replacements["@storage_class_name"] = json_of(param("storage_class_name"))
            if "volume_name" in bound:
                spec["volumeName"] = "@volume_name"
                replacements["@volume_name"] = json_of(param("volume_name"))
            if "data_source" in bound:
                spec["dataSource"] = "@data_source"
                replacements["@data_source"] = json_of(f"fromJSON({param('data_source')})")
            inputs = sorted(bound | {"pvc_name", "pvc_name_suffix", "annotations"})
            defaults = {"pvc_name": "", "pvc_name_suffix": "", "annotations": ""}
            outputs = [{"name": "name", "valueFrom": {"jsonPath": "{.metadata.name}"}}]
        else:
            manifest = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "@name"}}
            replacements = {"@name": json_of(param("pvc_name"))}
            inputs, defaults, outputs = sorted(bound), {}, []
        text = json.dumps(manifest, separators=(",", ":"))
        for marker, code in replacements.items():
            text = text.replace(json.dumps(marker), code)
        template: dict[str, Any] = {
            "name": name,
            "metadata": {"annotations": {f"{ANNOTATION_PREFIX}/component": component.name}},
            "inputs": {"parameters": [
                {"name": n, **({"value": defaults[n]} if n in defaults and n not in bound else {})} for n in inputs]},
            "resource": {"action": action, "manifest": text, **({"setOwnerReference": True} if action == "create" else {})},
        }
        if outputs:
            template["outputs"] = {"parameters": outputs}
        return template


def _quantity_of_input(name: str) -> str:
    """An input's value where a quantity (or an accelerator's resource name) goes in the pod spec patch.

    The patch is JSON text the value is pasted into, so only quantity characters may pass: anything
    else becomes the word ``invalid``, which the API server refuses, instead of changing the pod. The
    expression is written without double quotes or backslashes, which JSON would escape inside the patch."""
    assert re.fullmatch(r"[\w.-]+", name), name
    variable = f"inputs.parameters['{name}']"
    return exprs.expression(f"sprig.regexMatch('{QUANTITY}', {variable}) ? {variable} : 'invalid'")


QUANTITY = r"^[A-Za-z0-9][A-Za-z0-9./+-]*$"
"""A Kubernetes quantity (``500m``, ``2Gi``, ``1e3``) or extended resource name (``nvidia.com/gpu``)."""


def _retry_strategy(retry: Retry) -> dict[str, Any]:
    # limit and factor are IntOrString; strings keep every schema (and Argo) happy
    strategy: dict[str, Any] = {"limit": str(retry.max_retries), "retryPolicy": "Always"}
    if retry.backoff_seconds:
        strategy["backoff"] = {
            "duration": _duration(retry.backoff_seconds),
            "factor": _number_text(retry.backoff_factor),
            "maxDuration": _duration(retry.backoff_max_seconds),
        }
    return strategy


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _duration(seconds: float) -> str:
    return f"{_number_text(seconds)}s"
