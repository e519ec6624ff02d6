"""Typed builders for Tekton's ``$(...)`` variables, and the escaping that keeps compile-time text inert.

Every variable the Tekton target writes is made here. Two expanders read a step's ``args`` and
``env``: Tekton (``$(params.x)``, ``$(context.…)``, ``$(results.…)``, … in several passes) and then the
kubelet (``$(VAR)`` for a variable of the container, ``$$`` for ``$``). Compile-time text that contains
``$(`` or ``$$`` is therefore written with every ``$`` as ``$(KFP_DOLLAR)``: Tekton knows no such
variable and leaves it alone, the kubelet turns it back into ``$`` (the step defines ``KFP_DOLLAR=$``
first). Pipeline-level fields (task params, ``when``, ``matrix``) reject unknown variables, so text for
them must contain no ``$(`` at all (``is_inert``).
"""

from __future__ import annotations

import json
import re
from typing import Any

RUN_UID = "$(context.pipelineRun.uid)"
RUN_NAME = "$(context.pipelineRun.name)"
POD_UNIQUE = "$(context.taskRun.name)"
ALL_TASKS_STATUS = "$(tasks.status)"
DOLLAR_ENV = "KFP_DOLLAR"
_VARIABLE = re.compile(r"\$\([\w.-]+[)\[]")


def var(path: str) -> str:
    return "$(" + path + ")"


def param(name: str) -> str:
    return var(f"params.{name}")


def param_items(name: str) -> str:
    return var(f"params.{name}[*]")


def result(task: str, name: str) -> str:
    return var(f"tasks.{task}.results.{name}")


def result_items(task: str, name: str) -> str:
    return var(f"tasks.{task}.results.{name}[*]")


def matrix_length(task: str, result_name: str) -> str:
    """How many results a fanned-out (matrix) task produced."""
    return var(f"tasks.{task}.matrix.{result_name}.length")


def status(task: str) -> str:
    return var(f"tasks.{task}.status")


def result_path(name: str) -> str:
    return var(f"results.{name}.path")


def is_inert(text: str) -> bool:
    """True when Tekton finds no variable in ``text`` (pipeline-level fields: params, when, matrix).

    Tekton's variables are ``$(name.part…)`` with ``[\\w.-]`` names, optionally followed by ``[…]``
    (``$(params["x"])``, ``$(tasks.t.results.r[*])``); ``$(`` followed by anything else stays text."""
    return _VARIABLE.search(text) is None


def step_text(text: str) -> tuple[str, bool]:
    """``text`` for a step's args or env, and whether the step must define ``KFP_DOLLAR``."""
    if "$(" not in text and "$$" not in text:
        return text, False
    return text.replace("$", var(DOLLAR_ENV)), True


def json_text(value: Any) -> str:
    """Compact JSON in which no ``$`` occurs: JSON has ``$`` only inside strings, written ``\\u0024`` there."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("$", "\\u0024")


def cel_literal(value: Any) -> str:
    """A CEL literal for a compile-time value; numbers are doubles so that comparisons never mix types."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("$", "\\u0024")
    raise TypeError(f"no CEL literal for {type(value).__name__}")
