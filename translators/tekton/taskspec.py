"""One flat task -> a Tekton pipeline task with an embedded task: one pod running the launcher.

The pod has up to three steps: ``kfp-launcher-install`` copies ``kfp-launcher`` from the launcher image
into an emptyDir, ``main`` runs it in the user's image with the argv of the Argo target (Tekton variables
in place of Argo's), and ``kfp-results`` copies the outputs other tasks read from ``--outputs-dir`` to
Tekton's result files. The copy step exists because the launcher writes ``parameters/<name>`` and
``artifacts/<name>`` while Tekton reads the flat ``/tekton/results/<result>``, whose names must be unique
across parameters and artifacts and match Tekton's result-name rules; it runs the launcher image's
``sh``/``cp`` with a fixed script and takes the file names as arguments, and it runs only after ``main``
succeeded. Compile-time values are written into the step's arguments (escaped, see ``exprs``); run-time
values arrive as task parameters.

A list Tekton holds as an array (the gathered results of a matrix, or STRING outputs of an unrolled loop)
can only reach a container as one argv entry per item (``$(params.x[*])``). Such an input is passed as
``--list=NAME=TYPE=COUNT ITEM...`` (TYPE: the items' parameter type, or ARTIFACT for references; COUNT
from ``$(tasks.t.matrix.r.length)``; then COUNT argv entries): an addition to the launcher contract
(docs/task-spec.md).
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from driver.plan.model import ContainerExecutor, ParamType
from driver.plan.taskspec import task_spec
from driver.plan.values import encode_value
from driver.platform import ParamRef
from translators.tekton import exprs
from translators.tekton.conditions import Guard, WhenIn
from translators.tekton.context import PIPELINE_ROOT, TASK_PATH_PARAM, Context
from translators.tekton.flat import Dim, FlatTask, json_list
from translators.tekton.names import Names, param_name
from translators.tekton.platform import OptionValues, TaskParts, apply
from translators.tekton.values import Claim, Const, Gathered, Item, Listed, Output, Reference, Text, Value, parts

LAUNCHER_VOLUME = "kfp-launcher"
OUTPUTS_VOLUME = "kfp-outputs"
LAUNCHER_DIR = "/kfp/bin"
LAUNCHER_BIN = f"{LAUNCHER_DIR}/kfp-launcher"
OUTPUTS_DIR = "/kfp/outputs"
LAUNCHER_IN_IMAGE = "/usr/local/bin/kfp-launcher"
ANNOTATION_PREFIX = "kfp-driver.io"
COPY_SCRIPT = 'while [ "$#" -gt 1 ]; do cp "$1" "$2" || exit 1; shift 2; done'


class PipelineTaskRenderer:
    """Builds the pipeline task (and its ``taskRunSpecs`` entry) for one flat task."""

    def __init__(self, context: Context, flat: FlatTask, run_after: list[str]) -> None:
        self.context = context
        self.flat = flat
        self.run_after = run_after
        self.name = context.names[flat.id]
        self.param_names = Names(param_name, taken=list(context.params.values()) + [PIPELINE_ROOT, TASK_PATH_PARAM])
        self.params: list[dict[str, Any]] = []
        self.declared: list[dict[str, Any]] = []
        self.bound: dict[str, str] = {}
        self.items: dict[tuple[int, tuple[str, ...], str], str] = {}
        self.dollar = False
        self.static = all(dim.items is not None for dim in flat.dims)

    def render(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        executor = self.flat.component.executor
        assert isinstance(executor, ContainerExecutor)
        self.declare(PIPELINE_ROOT, exprs.param(PIPELINE_ROOT))
        main = self.main_step(executor)
        parts = TaskParts(main, [{"name": LAUNCHER_VOLUME, "emptyDir": {}}, {"name": OUTPUTS_VOLUME, "emptyDir": {}}])
        parts.metadata["annotations"] = {f"{ANNOTATION_PREFIX}/task-path": _path_text(self.flat, {}),
                                         f"{ANNOTATION_PREFIX}/component": self.flat.component.name}
        config = self.context.plan.pipeline_config
        apply(self.flat.component.platform, parts, OptionValues(self.option_text, self.option_json, self.option_claim),
              workspace=config is not None and config.workspace is not None)
        if self.dollar:
            main["env"].insert(0, _dollar_env())
        results, copy_step = self.results()
        embedded: dict[str, Any] = {"metadata": parts.metadata, "params": self.declared}
        if results:
            embedded["results"] = results
        embedded["steps"] = [self.install_step(), *parts.steps_before, main, *([copy_step] if copy_step else [])]
        if parts.sidecars:
            embedded["sidecars"] = parts.sidecars
        embedded["volumes"] = parts.volumes
        if parts.workspaces:
            embedded["workspaces"] = parts.workspaces
        run_spec = {"pipelineTaskName": self.name, "podTemplate": parts.pod} if parts.pod else None
        return self.pipeline_task(parts, embedded), run_spec

    def pipeline_task(self, parts: TaskParts, embedded: dict[str, Any]) -> dict[str, Any]:
        flat = self.flat
        task: dict[str, Any] = {"name": self.name, "params": self.params}
        matrix = self.matrix()
        if matrix:
            task["matrix"] = matrix
        if self.run_after:
            task["runAfter"] = self.run_after
        if flat.guards:
            task["when"] = [self.when(guard) for guard in flat.guards]
        if flat.task.retry is not None:
            task["retries"] = flat.task.retry.max_retries
        if parts.timeout:
            task["timeout"] = parts.timeout
        if parts.bindings:
            task["workspaces"] = parts.bindings
        task["taskSpec"] = embedded
        return task

    # -- the launcher -----------------------------------------------------------------------

    def install_step(self) -> dict[str, Any]:
        return {"name": "kfp-launcher-install", "image": self.context.options.launcher_image,
                "command": ["cp", LAUNCHER_IN_IMAGE, LAUNCHER_BIN],
                "volumeMounts": [{"name": LAUNCHER_VOLUME, "mountPath": LAUNCHER_DIR}]}

    def main_step(self, executor: ContainerExecutor) -> dict[str, Any]:
        step: dict[str, Any] = {
            "name": "main",
            "image": executor.image,
            "command": [LAUNCHER_BIN],
            "args": self.launcher_args(self.path_arg()),
            "env": self.env(executor),
            "volumeMounts": [{"name": LAUNCHER_VOLUME, "mountPath": LAUNCHER_DIR},
                             {"name": OUTPUTS_VOLUME, "mountPath": OUTPUTS_DIR}],
        }
        resources = self.flat.resources
        if resources:
            step["computeResources"] = resources
        return step

    def launcher_args(self, path_arg: str) -> list[str]:
        """The Argo target's argv (one ``--name=value`` entry per option), with Tekton's variables."""
        flat = self.flat
        root = exprs.param(PIPELINE_ROOT)
        args = [
            f"--spec={exprs.json_text(task_spec(flat.component))}",
            f"--run-id={exprs.RUN_UID}",
            f"--job-name={exprs.RUN_NAME}",
            f"--task-path={path_arg}",
            f"--pipeline-root={root}",
            f"--output-root={'/'.join([root, exprs.RUN_UID, path_arg, exprs.POD_UNIQUE])}",
            f"--outputs-dir={OUTPUTS_DIR}",
            f"--records={'/'.join([root, exprs.RUN_UID, '.records'])}",
            "--escape-tags",  # results and run values holding $( or {{ travel escaped (launcher/wire.py)
        ]
        inputs = flat.component.inputs
        for name in sorted(flat.params):
            args += self.input_args("--param", name, flat.params[name], inputs.parameters[name].type)
        for name in sorted(flat.artifacts):
            args += self.input_args("--artifact", name, flat.artifacts[name], None)
        args.append("--cache" if flat.task.cache else "--no-cache")
        return args

    def input_args(self, flag: str, name: str, value: Value, kind: ParamType | None) -> list[str]:
        """``FLAG=NAME=VALUE``, or ``--list=NAME=TYPE=COUNT ITEM...`` for a list Tekton holds as an array."""
        if isinstance(value, Gathered) or (isinstance(value, Listed) and not json_list(value, self.context.flat.tasks)):
            return self.list_args(name, value)
        if isinstance(value, Reference):
            return self.reference_args(name, value)
        return [self.literal(f"{flag}={name}=") + self.arg(value, kind, name)]

    def reference_args(self, name: str, value: Reference) -> list[str]:
        """An importer reference with run-time parts: its base, then one ``--artifact-set`` (a value) or
        ``--artifact-key`` (a key's name) per part; the launcher sets each as a string, so run-time text is
        never parsed as JSON."""
        args = [self.literal(f"--artifact={name}={value.base}")]
        for part in value.parts:
            flag = "--artifact-key" if part.key else "--artifact-set"
            text = "".join(self.literal(p) if isinstance(p, str) else self.arg(p, ParamType.STRING, name)
                           for p in part.pieces)
            path = json.dumps(list(part.path), separators=(",", ":"), ensure_ascii=False)
            args.append(self.literal(f"{flag}={name}={path}=") + text)
        return args

    def list_args(self, name: str, value: Gathered | Listed) -> list[str]:
        """A list input item by item: an array task parameter expands to one argv entry per item."""
        outputs = [value.value] if isinstance(value, Gathered) else list(value.items)
        first = outputs[0]
        assert isinstance(first, Output)
        item_type = "ARTIFACT" if first.artifact else _output_type(self.context.flat.tasks[first.task], first.name)
        array = self.param_names.claim(name)
        self.declared.append({"name": array, "type": "array"})
        if isinstance(value, Gathered):
            producer, result = self.context.names[first.task], self.context.result(first)
            self.params.append({"name": array, "value": exprs.result_items(producer, result)})
            count = exprs.param(self.bind_text(exprs.matrix_length(producer, result), f"{name}-count"))
        else:
            self.params.append({"name": array, "value": [self.context.variable(item) for item in outputs]})
            count = str(len(outputs))
        return [self.literal(f"--list={name}={item_type}=") + count, exprs.param_items(array)]

    def env(self, executor: ContainerExecutor) -> list[dict[str, Any]]:
        env: list[dict[str, Any]] = [{"name": "KFP_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
        store = self.context.options.store
        if store.endpoint:
            env.append({"name": "KFP_S3_ENDPOINT", "value": store.endpoint})
        if store.region:
            env.append({"name": "AWS_REGION", "value": store.region})
        if store.secret:
            for var, key in (("AWS_ACCESS_KEY_ID", store.access_key_key), ("AWS_SECRET_ACCESS_KEY", store.secret_key_key)):
                env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": store.secret, "key": key}}})
        env += [{"name": key, "value": self.literal(value)} for key, value in executor.env.items()]
        return env

    def path_arg(self) -> str:
        """The task path: static text, or per matrix combination when every loop has static items."""
        if self.flat.dims and self.static:
            self.declare(TASK_PATH_PARAM, None)
            return exprs.param(TASK_PATH_PARAM)
        return self.literal(_path_text(self.flat, {}))

    def results(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The results other tasks read, and the step that copies them from ``--outputs-dir``."""
        declared: list[dict[str, Any]] = []
        copies: list[str] = []
        dollar = False
        for (output, artifact, array), name in self.context.results.get(self.flat.id, {}).items():
            declared.append({"name": name, **({"type": "array"} if array else {})})
            file = f"{output}.items" if array else output  # the launcher writes lists as string arrays there
            source, escaped = exprs.step_text(f"{OUTPUTS_DIR}/{'artifacts' if artifact else 'parameters'}/{file}")
            dollar |= escaped
            copies += [source, exprs.result_path(name)]
        if not copies:
            return declared, None
        step: dict[str, Any] = {"name": "kfp-results", "image": self.context.options.launcher_image,
                                "command": ["sh", "-c", COPY_SCRIPT, "kfp-results", *copies],
                                "volumeMounts": [{"name": OUTPUTS_VOLUME, "mountPath": OUTPUTS_DIR}]}
        if dollar:
            step["env"] = [_dollar_env()]
        return declared, step

    # -- values -----------------------------------------------------------------------------

    def literal(self, text: str) -> str:
        escaped, needs_dollar = exprs.step_text(text)
        self.dollar |= needs_dollar
        return escaped

    def arg(self, value: Value, kind: ParamType | None, wish: str) -> str:
        """An input value as launcher argv text: a literal, a matrix item, or a task parameter."""
        if isinstance(value, Const):
            return self.literal(encode_value(value.value, kind or ParamType.STRING))
        if isinstance(value, Text):
            return self.literal(value.text)
        if isinstance(value, Item):
            return exprs.param(self.item_param(value, kind, wish))
        if isinstance(value, Listed) and all(isinstance(p, (Const, Text)) for p in parts(value)):
            return self.literal(self.context.variable(value))
        return exprs.param(self.bind(value, wish))

    def bind(self, value: Value, wish: str) -> str:
        """A task parameter carrying a run-time value; the same value shares one parameter."""
        return self.bind_text(self.context.variable(value), wish)

    def bind_text(self, text: str, wish: str) -> str:
        if text not in self.bound:
            name = param_name(wish)
            # a pipeline parameter passed on under its own name: Tekton's propagation of pipeline
            # parameters into embedded tasks then substitutes the same value (any other value would clash)
            if text != exprs.param(name) or name in self.bound.values():
                name = self.param_names.claim(wish)
            self.bound[text] = name
            self.declare(name, text)
        return self.bound[text]

    def declare(self, name: str, value: str | None) -> None:
        self.declared.append({"name": name})
        if value is not None:
            self.params.append({"name": name, "value": value})

    def item_param(self, item: Item, kind: ParamType | None, wish: str) -> str:
        """The task parameter a matrix fills with ``item`` (one per dimension unless items are static)."""
        key = (item.dim, item.fields, (kind or ParamType.STRING).value) if self.static else (item.dim, (), "")
        if key not in self.items:
            self.items[key] = self.param_names.claim(wish)
            self.declare(self.items[key], None)
        return self.items[key]

    def option_text(self, ref: ParamRef, wish: str) -> str | None:
        value = self.flat.platform.get(id(ref))
        if value is None or isinstance(value, Const) and value.value is None:
            return None
        if isinstance(value, Const):
            return str(value.value)
        if isinstance(value, Item):
            return exprs.param(self.item_param(value, ParamType.STRING, wish))
        return exprs.param(self.bind(value, wish))

    def option_json(self, ref: ParamRef) -> Any:
        value = self.flat.platform.get(id(ref))
        return copy.deepcopy(value.value) if isinstance(value, Const) else None

    def option_claim(self, ref: ParamRef) -> str | None:
        value = self.flat.platform.get(id(ref))
        return value.workspace if isinstance(value, Claim) else None

    # -- control flow -----------------------------------------------------------------------

    def matrix(self) -> dict[str, Any]:
        dims = self.flat.dims
        if not dims:
            return {}
        if self.static:  # explicit combinations, one per iteration (the task path tells them apart)
            return {"include": [self.combination(dict(zip([d.id for d in dims], choice)))
                                for choice in itertools.product(*(range(len(d.items or ())) for d in dims))]}
        for dim in dims:  # every loop fans the task out, whether or not it reads the item
            if not any(key[0] == dim.id for key in self.items):
                self.item_param(Item(dim.id), None, f"kfp-iteration-{dim.id}")
        params = []
        for (dim_id, _, _), name in self.items.items():
            dim = next(d for d in dims if d.id == dim_id)
            value: Any = self.context.array(dim.source) if dim.items is None else \
                [self.item_text(dim, index, (), None) for index in range(len(dim.items))]
            params.append({"name": name, "value": value})
        return {"params": params}

    def combination(self, indices: dict[int, int]) -> dict[str, Any]:
        params = [{"name": TASK_PATH_PARAM, "value": _path_text(self.flat, indices)}]
        for (dim_id, fields, kind), name in self.items.items():
            dim = next(d for d in self.flat.dims if d.id == dim_id)
            params.append({"name": name, "value": self.item_text(dim, indices[dim_id], fields,
                                                                  ParamType(kind) if kind else None)})
        return {"params": params}

    def item_text(self, dim: Dim, index: int, fields: tuple[str, ...], kind: ParamType | None) -> str:
        assert dim.items is not None
        item = dim.items[index]
        if isinstance(item, Const):
            value = item.value
            for key in fields:
                value = value.get(key) if isinstance(value, dict) else None
            return encode_value(value, kind or dim.item_type or ParamType.STRING)
        if isinstance(item, Text):
            return item.text
        return self.context.variable(item)

    def when(self, guard: Guard) -> dict[str, Any]:
        if isinstance(guard, WhenIn):
            return {"input": self.guard_text(guard.input), "operator": "notin" if guard.negate else "in",
                    "values": [self.guard_text(value) for value in guard.values]}
        return {"cel": "".join(self.guard_text(piece) for piece in guard.pieces)}

    def guard_text(self, piece: Value | str) -> str:
        return piece if isinstance(piece, str) else self.context.variable(piece)


def _dollar_env() -> dict[str, str]:
    """``KFP_DOLLAR=$``: the kubelet turns ``$(KFP_DOLLAR)`` in escaped text back into ``$``."""
    return {"name": exprs.DOLLAR_ENV, "value": "$"}


def _path_text(flat: FlatTask, indices: dict[int, int]) -> str:
    """The IR task path; a matrix iteration is ``[i]`` when known, else ``[*]``."""
    words = []
    for segment in flat.path:
        if isinstance(segment, tuple):
            name, dim_id = segment
            words.append(f"{name}[{indices[dim_id]}]" if dim_id in indices else f"{name}[*]")
        else:
            words.append(segment)
    return "/".join(words)


def _output_type(flat: FlatTask, name: str) -> str:
    return flat.component.outputs.parameters[name].type.value
