"""Submit a Workflow or WorkflowTemplate through Argo Server's HTTP API with hera's client."""

from __future__ import annotations

from typing import Any

from driver.errors import UsageError
from driver.submit.failures import Target, http_failure, network_reason, unreachable
from driver.submit.resources import WORKFLOW, WORKFLOW_TEMPLATE, Resource


def create(url: str, token: str | None, namespace: str, resource: Resource, body: dict[str, Any], *,
           dry_run: bool, verify_tls: bool = True) -> dict[str, Any]:
    """POST the object to Argo Server; returns the object it answered with."""
    try:
        import requests
        from hera.exceptions import HeraException
        from hera.workflows.models import (CreateOptions, Workflow, WorkflowCreateRequest, WorkflowTemplate,
                                           WorkflowTemplateCreateRequest)
        from hera.workflows.service import WorkflowsService
    except ImportError:
        raise UsageError("--argo-server needs hera", hint="pip install 'kfp-driver[argo-server]'") from None
    if "://" not in url:
        raise UsageError(f"--argo-server {url}: expected a URL such as https://argo-server:2746")
    service = WorkflowsService(host=url, token=token, namespace=namespace, verify_ssl=verify_tls)
    target = Target(url, "", resource, namespace, body.get("metadata", {}).get("name")
                    or body.get("metadata", {}).get("generateName", ""))
    try:
        if resource == WORKFLOW:
            created = service.create_workflow(WorkflowCreateRequest(
                workflow=Workflow.model_validate(body), server_dry_run=dry_run or None), namespace=namespace)
        elif resource == WORKFLOW_TEMPLATE:
            created = service.create_workflow_template(WorkflowTemplateCreateRequest(
                template=WorkflowTemplate.model_validate(body),
                create_options=CreateOptions(dry_run=["All"]) if dry_run else None), namespace=namespace)
        else:
            raise UsageError(f"Argo Server cannot create a {resource.kind}", hint="use --target argo")
    except HeraException as error:
        raise http_failure(target, int(error.status_code), _server_message(error)) from None
    except requests.RequestException as error:
        raise unreachable(target, network_reason(error)) from None
    return created.model_dump(by_alias=True, exclude_none=True, mode="json")


def _server_message(error: Exception) -> str:
    """hera wraps the server's message as 'Server returned status code N with message: `...`'."""
    import json

    text = str(error)
    start, end = text.find("`"), text.rfind("`")
    return json.dumps({"message": text[start + 1:end] if 0 <= start < end else text})
