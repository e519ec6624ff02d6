"""What both engine harnesses need from the project: its ``hack/`` tools and the local task environments."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from driver.errors import KfpDriverError
from driver.plan.model import Component, ContainerExecutor

HACK = Path(__file__).resolve().parents[2] / "hack"
COMPONENT_ANNOTATION = "kfp-driver.io/component"


def load_hack_module(engine: str, relative: str) -> ModuleType:
    """A Python tool under ``hack/`` (build scripts, runners), or one clear error outside a source checkout."""
    path = HACK / relative
    if not path.exists():
        raise KfpDriverError(f"--engine {engine} needs hack/{relative} (a source checkout)",
                             hint="run from a clone of the repository, or use --engine local")
    name = "kfp_driver_hack_" + relative.replace("/", "_").replace("-", "_").replace(".", "_")
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def task_environment(component: Component | None) -> list[dict[str, str]]:
    """Container env for a lightweight Python component: it finds its packages where an image would have
    them, in the task virtualenv the local runner builds (its install preamble then finds them installed)."""
    executor = component.executor if component is not None else None
    if not isinstance(executor, ContainerExecutor) or not (executor.lightweight_python and executor.pip_installs):
        return []
    from driver.local.envs import ensure_env

    venv = ensure_env(executor.pip_installs, say=lambda m: print(f"kfp-driver: {m}", file=sys.stderr))
    return [{"name": "PATH", "value": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"},
            {"name": "VIRTUAL_ENV", "value": str(venv)}]


def compile_values(parameters: dict[str, Any]) -> dict[str, Any]:
    """The run's parameters as ``CompileOptions.parameters`` take them (artifact inputs as reference dicts)."""
    from driver.local.model import ArtifactRef

    return {name: value.to_json() if isinstance(value, ArtifactRef) else value for name, value in parameters.items()}
