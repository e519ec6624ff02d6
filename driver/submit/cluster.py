"""The Kubernetes API through the ``kubernetes`` client: connect from a kubeconfig, create and read objects."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from driver.errors import UsageError
from driver.submit.failures import Target, http_failure, network_reason, unreachable
from driver.submit.resources import Resource

REQUEST_TIMEOUT = 30  # seconds per API request


@dataclass
class Cluster:
    """A connection to one API server, with the kubeconfig context it came from."""

    api: Any  # kubernetes.client.CustomObjectsApi
    server: str
    context: str
    namespace: str  # the context's namespace, else 'default'

    def target(self, resource: Resource, namespace: str, name: str = "") -> Target:
        return Target(self.server, self.context, resource, namespace, name)

    def create(self, resource: Resource, namespace: str, body: dict[str, Any], *, dry_run: bool) -> dict[str, Any]:
        name = body.get("metadata", {}).get("name") or body.get("metadata", {}).get("generateName", "")
        extra = {"dry_run": "All"} if dry_run else {}
        return self._call(self.target(resource, namespace, name), self.api.create_namespaced_custom_object,
                          resource.group, resource.version, namespace, resource.plural, body, **extra)

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        return self._call(self.target(resource, namespace, name), self.api.get_namespaced_custom_object,
                          resource.group, resource.version, namespace, resource.plural, name)

    def list(self, resource: Resource, namespace: str, selector: str) -> list[dict[str, Any]]:
        found = self._call(self.target(resource, namespace), self.api.list_namespaced_custom_object,
                           resource.group, resource.version, namespace, resource.plural, label_selector=selector)
        return list(found.get("items", []))

    def _call(self, target: Target, method: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as error:
            body = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else (error.body or "")
            raise http_failure(target, error.status or 0, body or json.dumps({"message": error.reason})) from None
        except (HTTPError, OSError) as error:
            raise unreachable(target, network_reason(error)) from None


def connect(kubeconfig: str | None, context: str | None) -> Cluster:
    """A ``Cluster`` from a kubeconfig file (default: ``$KUBECONFIG``, else ``~/.kube/config``)."""
    try:
        import yaml
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        raise UsageError("submit needs the Kubernetes client", hint="pip install 'kfp-driver[kube]'") from None
    source = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    if kubeconfig and not os.path.isfile(kubeconfig):
        raise UsageError(f"--kubeconfig {kubeconfig}: no such file")
    try:
        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        names = [c["name"] for c in contexts]
        if context and context not in names:
            raise UsageError(f"kubeconfig {source}: no context '{context}'", hint=f"contexts: {', '.join(names) or 'none'}")
        chosen = next(c for c in contexts if c["name"] == (context or active["name"]))
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration,
                                persist_config=False)
    except (ConfigException, yaml.YAMLError, OSError, ValueError, TypeError, KeyError, StopIteration) as error:
        detail = " ".join(str(error).split()[:40]) or type(error).__name__
        raise UsageError(f"kubeconfig {source}: {detail}",
                         hint="point --kubeconfig (or KUBECONFIG) at a valid file and pick a --context") from None
    configuration.retries = 0  # fail at once when nothing listens; the message says so
    namespace = (chosen.get("context") or {}).get("namespace") or "default"
    return Cluster(client.CustomObjectsApi(client.ApiClient(configuration)), configuration.host, chosen["name"], namespace)
