"""The Argo Workflows target."""

from translators.argo.workflow import compile_workflow

__all__ = ["compile_workflow"]
