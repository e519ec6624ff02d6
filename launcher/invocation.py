"""The KFP executor input (``{{$}}``) and the values of every placeholder, from the resolved context."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from launcher import values
from launcher.context import Context
from launcher.errors import SpecError
from launcher.placeholders import expand


def executor_input(ctx: Context) -> dict[str, Any]:
    """The ExecutorInput JSON the KFP SDK's executor reads (kfp.dsl.executor)."""
    inputs: dict[str, Any] = {}
    if ctx.params:
        inputs["parameterValues"] = dict(ctx.params)
    if ctx.inputs:
        inputs["artifacts"] = {name: {"artifacts": [a.runtime() for a in items]} for name, items in ctx.inputs.items()}
    outputs: dict[str, Any] = {}
    if ctx.output_files:
        outputs["parameters"] = {name: {"outputFile": str(path)} for name, path in ctx.output_files.items()}
    if ctx.outputs:
        outputs["artifacts"] = {name: {"artifacts": [o.runtime()]} for name, o in ctx.outputs.items()}
    outputs["outputFile"] = str(ctx.executor_output)
    return {"inputs": inputs, "outputs": outputs}


def command_line(ctx: Context) -> list[str]:
    """``command + args`` with every placeholder substituted."""
    task_values = TaskValues(ctx)
    return expand(ctx.spec.command, task_values) + expand(ctx.spec.args, task_values)


def _stable_uuid(text: str) -> str:
    """A UUID (version 5 layout) derived from ``text``: the same task path in the same run, the same id."""
    digest = bytearray(hashlib.sha1(b"kfp-driver:" + text.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    hex_ = digest.hex()
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class TaskValues:
    """Placeholder values for one task attempt (see the table in docs/task-spec.md)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._executor_input: str | None = None
        options = ctx.options
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ctx.started))
        self.run_values = {
            "jobName": options.job_name,
            "jobResourceName": options.job_name,
            "jobUuid": options.run_id,
            "taskName": options.task_name,
            "taskUuid": _stable_uuid(f"{options.run_id}/{options.task_path}"),
            "pipelineRoot": options.pipeline_root,
            "workspacePath": options.workspace_path,
            **options.run_values,
        }
        for key in ("jobCreateTime", "jobScheduleTime"):
            self.run_values[key] = self.run_values.get(key) or started

    def present(self, name: str) -> bool:
        return name in self.ctx.params or name in self.ctx.inputs

    def value(self, token: dict[str, Any]) -> str:
        kind, name = token.get("ph"), token.get("name", "")
        ctx = self.ctx
        if kind == "executorInput":
            if self._executor_input is None:
                self._executor_input = _json(executor_input(ctx))
            return self._executor_input
        if kind == "inputValue":
            if name not in ctx.params:
                raise SpecError(f"input parameter {name!r} has no value (not passed, no default)")
            kind_of = ctx.spec.input_params[name].type if name in ctx.spec.input_params else values.STRING
            value = ctx.params[name]
            return value if kind_of == values.STRING and isinstance(value, str) else _json(value)
        if kind in ("inputPath", "inputUri", "inputMetadata", "inputArtifact"):
            artifact = self._input(name, kind)
            if kind == "inputPath":
                return str(artifact.local)
            if kind == "inputUri":
                return artifact.uri
            return _json(artifact.metadata if kind == "inputMetadata" else artifact.runtime())
        if kind == "outputParameterFile":
            return str(self._known(ctx.output_files, name, "output parameter"))
        if kind in ("outputPath", "outputUri", "outputMetadata"):
            output = self._known(ctx.outputs, name, "output artifact")
            if kind == "outputPath":
                return str(output.local)
            return output.uri if kind == "outputUri" else _json(output.metadata)
        if kind == "outputMetadataFile":
            return str(ctx.executor_output)
        if kind in self.run_values:
            return self.run_values[kind]
        raise SpecError(f"task spec: unknown placeholder kind {kind!r}")

    def _input(self, name: str, kind: str):
        items = self.ctx.inputs.get(name)
        if not items:
            raise SpecError(f"input artifact {name!r} has no value (not passed)")
        if len(items) != 1:
            raise SpecError(f"input artifact {name!r} is a list: it has no single {kind}")
        return items[0]

    @staticmethod
    def _known(table: dict, name: str, what: str):
        if name not in table:
            raise SpecError(f"task spec: placeholder names unknown {what} {name!r}")
        return table[name]
