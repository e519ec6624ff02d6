"""``kfp-driver submit``: create a compiled Workflow or PipelineRun on a cluster and follow it.

``resources`` knows the custom resources we create, ``cluster`` talks to the Kubernetes API (and
``failures`` turns its errors into one-line messages), ``progress`` reads task states out of a run's
status, ``watch`` polls until the run ends, ``argo_server`` submits through Argo Server instead.
"""
