"""The IR must compile for the chosen engine: each feature the translator refuses is an error."""

from __future__ import annotations

import re
from collections.abc import Iterator

from driver.errors import KfpDriverError, ProblemList
from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from translators import compiler_for
from translators.options import CompileOptions

_TASK = re.compile(r"^task '(?P<task>[^']+)' \((?P<path>[^)]+)\): (?P<message>.+)$")


@rule("unsupported-on-target", Severity.ERROR, "the translator for --target refuses the IR")
def compiles(ctx: IRContext) -> Iterator[Hit]:
    try:
        compiler_for(ctx.options.target)(ctx.plan, CompileOptions())
    except KfpDriverError as error:
        for problem in error.problems if isinstance(error, ProblemList) else [error]:
            match = _TASK.match(problem.message)
            ir_path = match["path"] if match else problem.location.ir_path
            message = match["message"] if match else problem.message
            task = next((n.path for n in ctx.nodes if match and n.task.ir_path == ir_path), "")
            yield Hit(f"{ctx.options.target} cannot run this: {message}",
                      problem.hint or "change the pipeline, or compile it for the other target",
                      ir_path, task)
