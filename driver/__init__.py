"""kfp-driver: compile, check and run Kubeflow Pipelines v2 IR."""

__version__ = "0.1.0"
