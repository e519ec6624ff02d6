"""The custom resources ``submit`` creates, found from a manifest's ``apiVersion`` and ``kind``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from driver.errors import UsageError


@dataclass(frozen=True)
class Resource:
    """One custom resource type: what the custom objects API needs to address it."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def name(self) -> str:
        """``workflows.argoproj.io``: how ``kubectl`` and CRDs name it."""
        return f"{self.plural}.{self.group}"


WORKFLOW = Resource("argoproj.io", "v1alpha1", "workflows", "Workflow")
WORKFLOW_TEMPLATE = Resource("argoproj.io", "v1alpha1", "workflowtemplates", "WorkflowTemplate")
PIPELINE_RUN = Resource("tekton.dev", "v1", "pipelineruns", "PipelineRun")
PIPELINE = Resource("tekton.dev", "v1", "pipelines", "Pipeline")
TASK_RUN = Resource("tekton.dev", "v1", "taskruns", "TaskRun")
RUNS = (WORKFLOW, PIPELINE_RUN)  # the kinds --watch can follow

_BY_TYPE = {(f"{r.group}/{r.version}", r.kind): r for r in (WORKFLOW, WORKFLOW_TEMPLATE, PIPELINE_RUN, PIPELINE)}


def objects_of(manifest: dict[str, Any]) -> list[tuple[Resource, dict[str, Any]]]:
    """The objects to create, in order (a ``v1/List`` is unpacked), each with its resource type."""
    items = manifest["items"] if manifest.get("kind") == "List" else [manifest]
    found = []
    for item in items:
        resource = _BY_TYPE.get((item.get("apiVersion", ""), item.get("kind", "")))
        if resource is None:
            raise UsageError(f"cannot submit a {item.get('apiVersion')} {item.get('kind')}",
                             hint="submit creates Argo Workflows/WorkflowTemplates and Tekton Pipelines/PipelineRuns")
        found.append((resource, item))
    return found
