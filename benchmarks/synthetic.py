"""Synthetic KFP v2 IR for size and speed benchmarks: a large layered DAG over a few components.

    python benchmarks/synthetic.py OUT.yaml [--tasks 500] [--components 20] [--seed 0]

``synthetic_ir(tasks, components)`` returns a PipelineSpec dict shaped like what the KFP SDK emits for
lightweight Python components: each component has a few typed input/output parameters, most take a
``Dataset`` artifact from a task of the previous layer and produce one (some also ``Metrics``/``Model``),
and its executor is the usual ``sh -c`` bootstrap plus the function's source. Tasks are laid out in
layers; every input is wired to an output of an earlier task of the same type, to a pipeline input, or
to a constant. Deterministic for a given seed.

Also ``loop_ir(items, static=True)``: one ParallelFor over ``items`` static values (``raw`` in the IR),
or (``static=False``) over the list a producer task returns at run time.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
from pathlib import Path

import yaml

SDK_VERSION = "kfp-2.15.2"
BASE_NAMES = (
    "load-data", "validate-schema", "clean-rows", "split-dataset", "featurize", "normalize", "train-model",
    "evaluate-model", "tune-params", "export-model", "compute-stats", "detect-drift", "score-batch",
    "aggregate", "join-tables", "sample-rows", "encode-labels", "impute-missing", "report-metrics", "publish",
)
SOURCES = 4
"""The first components read no artifact; only they can start the DAG."""
IMAGES = ("python:3.11", "python:3.11-slim", "python:3.10", "python:3.12-slim")
PARAM_TYPES = ("STRING", "NUMBER_INTEGER", "NUMBER_DOUBLE", "BOOLEAN", "LIST", "STRUCT")
PY_TYPES = {"STRING": "str", "NUMBER_INTEGER": "int", "NUMBER_DOUBLE": "float", "BOOLEAN": "bool",
            "LIST": "list", "STRUCT": "dict"}
INPUT_NAMES = ("threshold", "columns", "label", "batch_size", "learning_rate", "options", "seed", "mode",
               "ratio", "enabled", "tags", "limit")
OUTPUT_NAMES = ("score", "row_count", "summary", "passed", "columns_out", "stats")
DEFAULTS = {"STRING": "auto", "NUMBER_INTEGER": 42, "NUMBER_DOUBLE": 0.25, "BOOLEAN": True,
            "LIST": ["a", "b", "c"], "STRUCT": {"k": 1, "mode": "fast"}}

BOOTSTRAP = (
    "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user"
    " || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet"
    " --no-warn-script-location 'kfp==2.15.2' '--no-deps' 'typing-extensions>=3.7.4,<5;"
    " python_version<\"3.9\"' && \"$0\" \"$@\"\n"
)
RUNNER = (
    "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n"
    "_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path"
    " \"$program_path/ephemeral_component.py\" \"$@\"\n"
)


def _component(index: int, rng: random.Random) -> dict:
    """One component: its interface (IR), its executor and the Python function behind it."""
    base = BASE_NAMES[index % len(BASE_NAMES)] + ("" if index < len(BASE_NAMES) else f"-v{index // len(BASE_NAMES)}")
    func = base.replace("-", "_")
    params_in = {name: rng.choice(PARAM_TYPES) for name in rng.sample(INPUT_NAMES, rng.randint(1, 3))}
    outputs = rng.sample(OUTPUT_NAMES, rng.randint(1, 2))
    params_out = {"Output": rng.choice(PARAM_TYPES)} if len(outputs) == 1 else \
        {name: rng.choice(PARAM_TYPES) for name in outputs}
    artifacts_in = {} if index < SOURCES else {"data": "system.Dataset"}
    artifacts_out = {"output_data": "system.Dataset"}
    extra = rng.random()
    if extra < 0.3:
        artifacts_out["metrics"] = "system.Metrics"
    elif extra < 0.5:
        artifacts_out["model"] = "system.Model"

    def artifact_defs(defs: dict) -> dict:
        return {name: {"artifactType": {"schemaTitle": title, "schemaVersion": "0.0.1"}}
                for name, title in defs.items()}

    inputs: dict = {"parameters": {name: {"parameterType": kind} for name, kind in params_in.items()}}
    if artifacts_in:
        inputs["artifacts"] = artifact_defs(artifacts_in)
    outputs_def = {"artifacts": artifact_defs(artifacts_out),
                   "parameters": {name: {"parameterType": kind} for name, kind in params_out.items()}}
    spec = {"executorLabel": f"exec-{base}", "inputDefinitions": inputs, "outputDefinitions": outputs_def}

    # The function's source, as the SDK embeds it (signature, docstring, a small body).
    args = [f"{name}: Input[{title.split('.')[1]}]" for name, title in artifacts_in.items()]
    args += [f"{name}: {PY_TYPES[kind]}" for name, kind in params_in.items()]
    args += [f"{name}: Output[{title.split('.')[1]}]" for name, title in artifacts_out.items()]
    if len(params_out) == 1:
        returns = PY_TYPES[params_out["Output"]]
    else:
        returns = "NamedTuple('Outputs', [" + ", ".join(f"('{n}', {PY_TYPES[k]})" for n, k in params_out.items()) + "])"
    body = [f'    """{base.replace("-", " ").capitalize()} step of the synthetic benchmark pipeline."""',
            "    import json", "    import os", ""]
    if artifacts_in:
        body += ["    with open(data.path) as handle:", "        rows = [line.rstrip('\\n') for line in handle]"]
    else:
        body += [f"    rows = [f'row-{{i}}' for i in range({rng.randint(10, 1000)})]"]
    body += [f"    print('{func}:', {', '.join(params_in)}, len(rows))",
             "    with open(output_data.path, 'w') as handle:",
             "        handle.write('\\n'.join(rows))",
             "    output_data.metadata['rows'] = len(rows)"]
    if "metrics" in artifacts_out:
        body += ["    metrics.log_metric('rows', len(rows))", "    metrics.log_metric('ratio', 0.5)"]
    if "model" in artifacts_out:
        body += ["    os.makedirs(model.path, exist_ok=True)",
                 "    with open(os.path.join(model.path, 'weights.json'), 'w') as handle:",
                 "        json.dump({'n': len(rows)}, handle)", "    model.metadata['framework'] = 'none'"]
    samples = {"STRING": "'done'", "NUMBER_INTEGER": "len(rows)", "NUMBER_DOUBLE": "len(rows) / 3.0",
               "BOOLEAN": "bool(rows)", "LIST": "rows[:3]", "STRUCT": "{'rows': len(rows)}"}
    if len(params_out) == 1:
        body.append(f"    return {samples[params_out['Output']]}")
    else:
        body += ["    from collections import namedtuple",
                 f"    outputs = namedtuple('Outputs', {list(params_out)!r})",
                 f"    return outputs({', '.join(samples[k] for k in params_out.values())})"]
    source = ("\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n"
              f"def {func}({', '.join(args)}) -> {returns}:\n" + "\n".join(body) + "\n\n")
    executor = {"container": {
        "image": rng.choice(IMAGES),
        "command": ["sh", "-c", BOOTSTRAP, "sh", "-ec", RUNNER, source],
        "args": ["--executor_input", "{{$}}", "--function_to_execute", func],
    }}
    if rng.random() < 0.25:
        executor["container"]["resources"] = {"cpuLimit": 1.0, "memoryLimit": 2.147483648,
                                              "resourceCpuLimit": "1", "resourceMemoryLimit": "2Gi"}
    return {"name": f"comp-{base}", "base": base, "spec": spec, "executor": executor,
            "params_in": params_in, "params_out": params_out, "artifacts_in": artifacts_in,
            "artifacts_out": artifacts_out}


def synthetic_ir(tasks: int = 500, components: int = 20, *, seed: int = 0, per_task: bool = True) -> dict:
    """A PipelineSpec with ``tasks`` tasks over ``components`` distinct container components.

    ``per_task`` (default) mirrors the KFP SDK, which writes one ``comp-<task>``/``exec-<task>`` entry per
    task even when tasks share a component (identical copies); ``per_task=False`` writes each distinct
    component once, the most compact IR for the same pipeline.
    """
    if tasks < 1 or components < 1:
        raise ValueError("tasks and components must be positive")
    rng = random.Random(seed)
    comps = [_component(i, rng) for i in range(components)]
    sources = comps[:min(SOURCES, components)]
    width = max(1, round(math.sqrt(tasks)))
    pipeline_inputs = {f"default_{kind.lower()}": kind for kind in PARAM_TYPES}

    dag: dict[str, dict] = {}
    entries: dict[str, dict] = {}
    layers: list[list[tuple[str, dict]]] = []
    uses: dict[str, int] = {}
    for index in range(tasks):
        layer = index // width
        if layer == len(layers):
            layers.append([])
        comp = rng.choice(sources) if layer == 0 else comps[index % components]
        uses[comp["name"]] = uses.get(comp["name"], 0) + 1
        name = comp["base"] if uses[comp["name"]] == 1 else f"{comp['base']}-{uses[comp['name']]}"
        earlier = [item for previous in layers[max(0, layer - 3):layer] for item in previous]
        after: set[str] = set()
        parameters: dict[str, dict] = {}
        for param, kind in comp["params_in"].items():
            producers = [(task, out) for task, c in earlier for out, k in c["params_out"].items() if k == kind]
            roll = rng.random()
            if producers and roll < 0.6:
                task, out = rng.choice(producers)
                parameters[param] = {"taskOutputParameter": {"outputParameterKey": out, "producerTask": task}}
                after.add(task)
            elif roll < 0.8:
                parameters[param] = {"componentInputParameter": f"default_{kind.lower()}"}
            else:
                parameters[param] = {"runtimeValue": {"constant": DEFAULTS[kind]}}
        comp_name = f"comp-{name}" if per_task else comp["name"]
        entries[comp_name] = comp
        spec: dict = {"cachingOptions": {"enableCache": True}, "componentRef": {"name": comp_name},
                      "taskInfo": {"name": name}}
        inputs: dict = {"parameters": parameters} if parameters else {}
        if comp["artifacts_in"]:
            task, _ = rng.choice(layers[layer - 1])
            inputs["artifacts"] = {"data": {"taskOutputArtifact": {"outputArtifactKey": "output_data",
                                                                     "producerTask": task}}}
            after.add(task)
        if inputs:
            spec["inputs"] = inputs
        if after:
            spec["dependentTasks"] = sorted(after)
        if index % 25 == 7:
            spec["retryPolicy"] = {"backoffDuration": "0s", "backoffFactor": 2.0,
                                   "backoffMaxDuration": "3600s", "maxRetryCount": 2}
        dag[name] = spec
        layers[layer].append((name, comp))

    components_ir, executors = {}, {}
    for comp_name, comp in sorted(entries.items()):
        label = "exec-" + comp_name[len("comp-"):]
        components_ir[comp_name] = {**copy.deepcopy(comp["spec"]), "executorLabel": label}
        executors[label] = copy.deepcopy(comp["executor"])  # independent copies, as the SDK writes them
    return {
        "components": components_ir,
        "deploymentSpec": {"executors": executors},
        "pipelineInfo": {"name": f"synthetic-{tasks}-tasks"},
        "root": {
            "dag": {"tasks": dag},
            "inputDefinitions": {"parameters": {
                name: {"defaultValue": DEFAULTS[kind], "isOptional": True, "parameterType": kind}
                for name, kind in pipeline_inputs.items()}},
        },
        "schemaVersion": "2.1.0",
        "sdkVersion": SDK_VERSION,
    }


def loop_ir(items: int, *, static: bool = True) -> dict:
    """One ParallelFor whose one-task body reads the loop item and a producer's Dataset.

    ``static``: the loop runs over ``items`` constant strings (``raw`` in the IR); otherwise over the list
    the producer returns at run time, the producer being told to make ``items`` entries.
    """
    rng = random.Random(1)
    producer, body = _component(0, rng), _component(SOURCES, rng)
    producer["spec"]["inputDefinitions"] = {"parameters": {"count": {"parameterType": "NUMBER_INTEGER"}}}
    producer["spec"]["outputDefinitions"]["parameters"] = {"Output": {"parameterType": "LIST"}}
    item = "pipelinechannel--loop-item-param-1" if static else "pipelinechannel--load-data-Output-loop-item"
    listed = "pipelinechannel--load-data-Output"
    dataset = "pipelinechannel--load-data-output_data"
    first, *others = body["params_in"]
    body["spec"]["inputDefinitions"]["parameters"][first] = {"parameterType": "STRING"}
    body_params = {first: {"componentInputParameter": item}}
    body_params.update({name: {"runtimeValue": {"constant": DEFAULTS[body["params_in"][name]]}} for name in others})
    loop_params = {item: {"parameterType": "STRING"}}
    loop_task: dict = {
        "componentRef": {"name": "comp-for-loop-1"},
        "dependentTasks": ["load-data"],
        "inputs": {"artifacts": {dataset: {"taskOutputArtifact": {"outputArtifactKey": "output_data",
                                                                  "producerTask": "load-data"}}}},
        "taskInfo": {"name": "for-loop-1"},
    }
    if static:
        raw = json.dumps([str(i) for i in range(items)])
        loop_task["parameterIterator"] = {"itemInput": item, "items": {"raw": raw}}
    else:
        loop_params[listed] = {"parameterType": "LIST"}
        loop_task["inputs"]["parameters"] = {listed: {"taskOutputParameter": {"outputParameterKey": "Output",
                                                                             "producerTask": "load-data"}}}
        loop_task["parameterIterator"] = {"itemInput": item, "items": {"inputParameter": listed}}
    loop_component = {
        "dag": {"tasks": {body["base"]: {
            "cachingOptions": {"enableCache": True}, "componentRef": {"name": body["name"]},
            "inputs": {"parameters": body_params, "artifacts": {"data": {"componentInputArtifact": dataset}}},
            "taskInfo": {"name": body["base"]}}}},
        "inputDefinitions": {"parameters": loop_params, "artifacts": {dataset: {"artifactType": {
            "schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}}},
    }
    return {
        "components": {producer["name"]: producer["spec"], body["name"]: body["spec"],
                       "comp-for-loop-1": loop_component},
        "deploymentSpec": {"executors": {producer["spec"]["executorLabel"]: producer["executor"],
                                         body["spec"]["executorLabel"]: body["executor"]}},
        "pipelineInfo": {"name": f"loop-{'static' if static else 'param'}"},
        "root": {"dag": {"tasks": {
            "load-data": {"cachingOptions": {"enableCache": True}, "componentRef": {"name": producer["name"]},
                          "inputs": {"parameters": {"count": {"runtimeValue": {"constant": items}}}},
                          "taskInfo": {"name": "load-data"}},
            "for-loop-1": loop_task,
        }}},
        "schemaVersion": "2.1.0",
        "sdkVersion": SDK_VERSION,
    }


class _NoAliasDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: object) -> bool:
        return True  # the SDK repeats values; it never writes YAML anchors


def dump_ir(ir: dict) -> str:
    """IR text the way the SDK writes it: a header comment, then block YAML with sorted keys, no anchors."""
    return "# PIPELINE DEFINITION\n# Name: " + ir["pipelineInfo"]["name"] + "\n" + yaml.dump(
        ir, Dumper=_NoAliasDumper, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="IR file to write ('-' for stdout)")
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--components", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shared-components", action="store_true",
                        help="write each distinct component once (the SDK writes one copy per task)")
    args = parser.parse_args(argv)
    text = dump_ir(synthetic_ir(args.tasks, args.components, seed=args.seed, per_task=not args.shared_components))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {len(text.encode()):,} bytes, {args.tasks} tasks, {args.components} components",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
