"""The Tekton Pipelines target (stock Tekton, no custom task controllers)."""

from translators.tekton.pipelinerun import compile_pipeline_run

__all__ = ["compile_pipeline_run"]
