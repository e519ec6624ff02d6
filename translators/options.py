"""Compile options shared by every target, passed explicitly (the CLI fills them from flags/env)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

DEFAULT_LAUNCHER_IMAGE = "ghcr.io/kfp-driver/launcher:0.1.0"
DEFAULT_PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts"


@dataclass(frozen=True)
class StoreOptions:
    """How task pods reach the artifact store."""

    endpoint: str = ""
    """S3-compatible endpoint URL, e.g. ``http://minio-service.kubeflow:9000``; empty for the cloud default."""
    region: str = ""
    secret: str = ""
    """Kubernetes Secret with the store credentials, mounted as env; empty for none."""
    access_key_key: str = "accesskey"
    secret_key_key: str = "secretkey"


@dataclass(frozen=True)
class CompileOptions:
    pipeline_root: str = ""
    """Overrides the IR's ``defaultPipelineRoot``; the default is DEFAULT_PIPELINE_ROOT."""
    launcher_image: str = DEFAULT_LAUNCHER_IMAGE
    service_account: str = ""
    namespace: str = ""
    store: StoreOptions = field(default_factory=StoreOptions)
    workflow_template: bool = False
    """Argo: emit a WorkflowTemplate instead of a Workflow."""
    separate_pipeline: bool = False
    """Tekton: emit a Pipeline plus a PipelineRun referencing it."""
    metrics: bool = True
    """Emit engine-native Prometheus metrics where the target supports them."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Values of this run's pipeline parameters (typed, e.g. from ``driver.local.params``), overriding the
    IR defaults; artifact inputs take a URI or a reference dict."""

    @classmethod
    def from_env(cls, **overrides: object) -> "CompileOptions":
        """Defaults from ``KFP_DRIVER_*`` environment variables; explicit values win."""
        env = os.environ
        store = StoreOptions(
            endpoint=env.get("KFP_DRIVER_STORE_ENDPOINT", ""),
            region=env.get("KFP_DRIVER_STORE_REGION", ""),
            secret=env.get("KFP_DRIVER_STORE_SECRET", ""),
        )
        values: dict[str, object] = {
            "pipeline_root": env.get("KFP_DRIVER_PIPELINE_ROOT", ""),
            "launcher_image": env.get("KFP_DRIVER_LAUNCHER_IMAGE", DEFAULT_LAUNCHER_IMAGE),
            "service_account": env.get("KFP_DRIVER_SERVICE_ACCOUNT", ""),
            "namespace": env.get("KFP_DRIVER_NAMESPACE", ""),
            "store": store,
        }
        values.update({key: value for key, value in overrides.items() if value not in (None, "")})
        return cls(**values)  # type: ignore[arg-type]

    def root_for(self, ir_default: str) -> str:
        return self.pipeline_root or ir_default or DEFAULT_PIPELINE_ROOT
