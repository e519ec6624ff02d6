"""``kfp-driver lint``: problems worth fixing before a pipeline is submitted.

IR files go through the rule registry (``driver/lint/rules/``, one module per rule family); generated
Argo/Tekton manifests through the strict JSON Schemas and the engines' own validators.
"""
