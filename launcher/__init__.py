"""kfp-launcher: the in-pod executor of one KFP task (contract: docs/task-spec.md).

Importing this package imports nothing: the CLI entry point is ``launcher.__main__:main``.
"""

__version__ = "0.1.0"
