"""Kubernetes API and Argo Server errors -> one-line messages that say what to do (exit 2)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from driver.errors import KfpDriverError
from driver.submit.resources import Resource


class SubmitError(KfpDriverError):
    """The cluster refused or could not take the object (exit 2: fix the setup or the input)."""


UNTRUSTED = "its TLS certificate is not trusted"


@dataclass(frozen=True)
class Target:
    """Where a request went, for the message: server URL, kubeconfig context, resource, namespace, name."""

    server: str
    context: str
    resource: Resource
    namespace: str
    name: str = ""

    @property
    def engine(self) -> str:
        return "Argo Workflows" if self.resource.group == "argoproj.io" else "Tekton Pipelines"


def unreachable(target: Target, reason: str) -> SubmitError:
    via = f" (context '{target.context}')" if target.context else ""
    hint = "give the server's CA certificate in the kubeconfig" if reason == UNTRUSTED else \
        "check that the cluster is up and that --kubeconfig/--context (or --argo-server) point at it"
    return SubmitError(f"cannot reach the API server at {target.server}{via}: {reason}", hint=hint)


def network_reason(error: BaseException) -> str:
    """'Connection refused', 'TLS certificate not trusted', 'timed out', ... from a urllib3/requests error."""
    text = str(getattr(error, "reason", None) or error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return UNTRUSTED
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno:
        return errno.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200] if text else type(error).__name__


def http_failure(target: Target, status: int, body: str) -> SubmitError:
    """The error for an HTTP status (with the Kubernetes ``Status`` body when there is one)."""
    message, details_kind = _status_message(body)
    what = f"{target.resource.kind} '{target.name}'" if target.name else f"the {target.resource.kind}"
    if status == 401:
        who = f"context '{target.context}'" if target.context else "the token"
        return SubmitError(f"the API server at {target.server} rejected the credentials of {who} (401 Unauthorized)",
                           hint="log in again, fix the token, or choose another --context")
    if status == 403:
        return SubmitError(f"not allowed to create {target.resource.name} in namespace '{target.namespace}' "
                           f"(403 Forbidden: {message})",
                           hint=f"ask for RBAC permission to create {target.resource.plural} there, or use another --context")
    if status == 404 and details_kind == "namespaces":
        return SubmitError(f"namespace '{target.namespace}' does not exist on {target.server}",
                           hint=f"create it (kubectl create namespace {target.namespace}) or pass another --namespace")
    if status == 404 and details_kind == target.resource.plural:
        return SubmitError(f"{what} no longer exists in namespace '{target.namespace}'",
                           hint="something deleted it; look at the cluster's events")
    if status == 404:
        return SubmitError(f"{target.server} does not serve {target.resource.name}/{target.resource.version}: "
                           f"the {target.engine} CRDs are not installed",
                           hint=f"install {target.engine} on the cluster, or choose the other --target")
    if status in (400, 422):
        return SubmitError(f"the API server rejected {what}: {message}",
                           hint="the server's reason names the field; check the IR and options, and that the "
                                f"cluster's {target.engine} version matches what kfp-driver targets")
    if status == 409:
        return SubmitError(f"{what} already exists in namespace '{target.namespace}'", hint="delete it or rename the run")
    return SubmitError(f"the API server answered {status} for {what}: {message}")


def _status_message(body: str) -> tuple[str, str]:
    """(message, details.kind) of a Kubernetes ``Status`` or Argo Server error body, one line."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    message = str(data.get("message") or body or "no details").strip()
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    return " ".join(message.split())[:2000], str(details.get("kind", ""))
