#!/usr/bin/env python3
"""Structure-aware fuzzer: mutated corpus IR through load -> check -> plan -> Argo/Tekton -> render -> schema -> lint.

    python hack/fuzz.py [--seed N] [--cases N | --seconds S] [--timeout S] [--memory-mb MB] [--save DIR] [--json]

Each case takes one corpus pipeline (or two, spliced), applies 1-4 mutations to its tree (drop, clone or
retype values, dangle or cycle references, hostile names and values, odd unicode, huge and deep values),
writes it as YAML or JSON with optional text-level mutations (BOM, CRLF, NUL, truncation, lone surrogates,
YAML tags/aliases), and runs it in this process under a per-case time limit. The oracle: every input gives
manifests that pass the strict schemas, or a ``KfpDriverError`` with exit code 2 whose lines each name the
file; any other exception, a timeout or a ``MemoryError`` is a finding. Findings are deduplicated by
signature (stage, exception, innermost project frame) and, with ``--save DIR``, minimized (greedy removal
over the tree) and written to DIR. Exit status: 0 without findings, 1 with.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from driver.checks import check_ir  # noqa: E402
from driver.errors import KfpDriverError, ProblemList  # noqa: E402
from driver.ir import load_ir  # noqa: E402
from driver.output import check_size, render  # noqa: E402
from driver.plan.build import build_plan  # noqa: E402
from driver.plan.model import ParamType  # noqa: E402

CORPUS = ROOT.parent / "shared" / "conformance" / "kfp-ir"
SCHEMAS = {"argo": ROOT / "schemas" / "argo-workflow.strict.json", "tekton": ROOT / "schemas" / "tekton-v1.strict.json"}
LINT = (ROOT / "driver" / "lint").is_dir()
MARK = "@@fuzz-raw@@"
"""Placeholder string the YAML writer replaces with a raw YAML snippet (tags, aliases, YAML 1.1 scalars)."""

# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Case:
    """One fuzz input: a tree, how it is written (format, text mutations), and how it was made."""

    name: str
    tree: Any
    fmt: str = "yaml"
    text_ops: list[tuple[str, Any]] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"{self.name}.{self.fmt}"

    def text(self) -> str:
        text = dump_json(self.tree) if self.fmt == "json" else dump_yaml(self.tree)
        for op, arg in self.text_ops:
            text = TEXT_OPS[op](text, arg)
        return text


class Pairs(list):
    """A JSON object written with repeated keys: ``[(key, value), ...]`` (only JSON can hold it)."""


def dump_json(value: Any) -> str:
    """JSON text; ``Pairs`` become objects with repeated keys, lone surrogates become ``\\udXXX`` escapes."""
    if isinstance(value, Pairs):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dump_json(v)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {dump_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump_json(v) for v in value) + "]"
    return json.dumps(value)


def dump_yaml(value: Any) -> str:
    text = yaml.dump(value, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, width=120,
                     allow_unicode=True)
    return text


def _needs_json(value: Any) -> bool:
    """Trees the YAML writer cannot write: repeated keys, lone surrogates, over 150 levels deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Pairs) or depth > 150:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in (*item.keys(), *item.values()))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and any("\ud800" <= c <= "\udfff" for c in item):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Values

HOSTILE = [
    "", " ", "a'b", 'a"b', "a\\b", "{{workflow.name}}", "{{=sprig.fail('x')}}", "{{inputs.parameters.x}}",
    "$(params.x)", "$(tasks.a.results.b)", "$(context.pipelineRun.name)", "`id`", "$(id)", "a\nb", "a\r\nb",
    "-rf", "--spec", "name: x", "- a", "a: {b: c}", "#x", "&a", "*a", "!!str", "%", "@", "../../etc/passwd",
    "a/b", ".", "..", "UPPER", "with space", "tab\tname", "x" * 300, "y" * 70_000, "task-" + "9" * 63,
    "{{", "}}", "{{{{", "'{{}}'", "{'a': 1}", "[1, 2]", "null", "true", "0", "-1", "1e308", "NaN",
]
UNICODE = [
    "\u202e", "\u200f", "\u0645\u0631\u062d\u0628\u0627", "\x00", "\x1b[31m", "\x7f", "e\u0301\u0301\u0301",
    "\u200d", "\ufeff", "\u2028", "\u2029", "\x85", "\U0001f600", "\ud800", "\udfff", "\u0000a", "\uffff",
    "\u0130", "\u00df", "\u3000", "Z\u0351\u0352\u0353\u0354\u0355",
]
YAML_SNIPPETS = [
    "2001-12-14", "2001-12-14t21:59:43.10-05:00", "!!binary aGVsbG8=", "!!set {a, b}", "yes", "no", "on", "off",
    "~", ".inf", "-.inf", ".nan", "0x1F", "0o17", "1_000", "0b101", "!!python/object:os.system [id]",
    "!custom 1", "&anchor [1, *anchor]", "{<<: {a: 1}, b: 2}", "!!int '12'", "!!float 1", "? [a, b]\n  : c",
    "|-\n  multi\n  line", "!!omap [a: 1, b: 2]", "!!pairs [a: 1, a: 2]",
]
HOSTILE_PARAMETER = "{{workflow.name}} {{=1/0}} $(params.x) `id` $(id) 'a\" \\ \n\u202e\u0000x"
REFERENCE_FIELDS = {"producerTask", "producerSubtask", "executorLabel", "outputParameterKey", "outputArtifactKey",
                    "componentInputParameter", "componentInputArtifact", "inputParameter", "inputArtifact",
                    "itemInput", "name", "dependentTasks", "taskOutputParameter"}
NAME_MAPS = {"components", "executors", "tasks", "parameters", "artifacts"}


def random_scalar(rng: random.Random) -> Any:
    return rng.choice([
        0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308, float("inf"), float("nan"),
        True, False, None, "", "0", "1.5", "true", rng.choice(HOSTILE), rng.choice(UNICODE),
    ])


def random_value(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return {}
    if kind == 1:
        return []
    if kind == 2:
        return [random_scalar(rng) for _ in range(rng.randrange(1, 4))]
    if kind == 3:
        return {rng.choice(HOSTILE[:20]): random_scalar(rng) for _ in range(rng.randrange(1, 4))}
    return random_scalar(rng)


def deep_value(depth: int, rng: random.Random) -> Any:
    value: Any = rng.choice(["x", 1, None])
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


# ---------------------------------------------------------------------------------------------
# Tree access


Path_ = tuple[Any, ...]


def walk(tree: Any) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) of the tree, iteratively."""
    stack: list[tuple[Path_, Any]] = [((), tree)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, Pairs):  # written as is: mutations never reach into repeated keys
            continue
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))


def get(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def put(tree: Any, path: Path_, value: Any) -> Any:
    """``tree`` with the value at ``path`` replaced (the root itself when ``path`` is empty)."""
    if not path:
        return value
    get(tree, path[:-1])[path[-1]] = value
    return tree


def pick(rng: random.Random, tree: Any, want: Callable[[Path_, Any], bool]) -> Path_ | None:
    paths = [path for path, value in walk(tree) if want(path, value)]
    return rng.choice(paths) if paths else None


# ---------------------------------------------------------------------------------------------
# Tree mutations: each changes ``case.tree`` and returns a short description, or "" if it found no target


def m_drop(rng: random.Random, case: Case) -> str:
    path = pick(rng, case.tree, lambda p, v: bool(p))
    if path is None:
        return ""
    parent = get(case.tree, path[:-1])
    del parent[path[-1]]
    return f"drop {_show(path)}"


def m_clone(rng: random.Random, case: Case) -> str:
    """Copy a map entry under a new (or repeated, in JSON) key, or duplicate a list item."""
    path = pick(rng, case.tree, lambda p, v: bool(p))
    if path is None:
        return ""
    parent, key = get(case.tree, path[:-1]), path[-1]
    if isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
        return f"duplicate {_show(path)}"
    if rng.random() < 0.4 and path[:-1]:
        pairs = Pairs([*parent.items(), (key, random_value(rng))])
        put(case.tree, path[:-1], pairs)
        return f"repeat key {_show(path)}"
    parent[f"{key}{rng.choice(['-2', '_copy', '', ' '])}x"] = copy.deepcopy(parent[key])
    return f"clone {_show(path)}"


def m_retype(rng: random.Random, case: Case) -> str:
    path = pick(rng, case.tree, lambda p, v: bool(p))
    if path is None:
        return ""
    put(case.tree, path, random_value(rng))
    return f"retype {_show(path)}"


def m_dangle(rng: random.Random, case: Case) -> str:
    """Point a reference (componentRef, producerTask, executorLabel, ...) at a missing or wrong name."""
    path = pick(rng, case.tree, lambda p, v: bool(p) and _field(p) in REFERENCE_FIELDS)
    if path is None:
        return ""
    names = [k for p, v in walk(case.tree) if isinstance(v, dict) and p and p[-1] in NAME_MAPS for k in v]
    target = rng.choice(names + ["missing", "", "root"]) if names else "missing"
    value = get(case.tree, path)
    put(case.tree, path, [target] if isinstance(value, list) else target)
    return f"dangle {_show(path)} -> {target!r}"


def m_cycle(rng: random.Random, case: Case) -> str:
    """A dependency cycle between two sibling tasks, or a DAG component that runs itself."""
    dags = [(p, v) for p, v in walk(case.tree) if p and p[-1] == "tasks" and isinstance(v, dict) and v]
    if not dags:
        return ""
    path, tasks = rng.choice(dags)
    names = list(tasks)
    a, b = rng.choice(names), rng.choice(names)
    if rng.random() < 0.5 and len(path) >= 3 and path[0] == "components" and isinstance(tasks[a], dict):
        tasks[a]["componentRef"] = {"name": path[1]}
        return f"component {path[1]!r} runs itself in task {a!r}"
    for x, y in ((a, b), (b, a)):
        if isinstance(tasks[x], dict):
            tasks[x].setdefault("dependentTasks", []).append(y) if isinstance(
                tasks[x].get("dependentTasks", []), list) else None
    return f"cycle {a!r} <-> {b!r} in {_show(path)}"


def m_rename(rng: random.Random, case: Case) -> str:
    """Rename a task/component/executor/input/output to a hostile name, updating every reference to it."""
    maps = [(p, v) for p, v in walk(case.tree) if p and p[-1] in NAME_MAPS and isinstance(v, dict) and v]
    if not maps:
        return ""
    path, mapping = rng.choice(maps)
    old = rng.choice(list(mapping))
    new = rng.choice(HOSTILE + UNICODE) + (rng.choice(["", old]) if rng.random() < 0.5 else "")
    case.tree = _replace_strings(case.tree, {old: new, f"comp-{old}": f"comp-{new}", f"exec-{old}": f"exec-{new}"})
    return f"rename {old!r} -> {new[:40]!r}"


def m_hostile_value(rng: random.Random, case: Case) -> str:
    path = pick(rng, case.tree, lambda p, v: bool(p) and isinstance(v, str))
    if path is None:
        return ""
    value = get(case.tree, path)
    extra = rng.choice(HOSTILE + UNICODE)
    put(case.tree, path, rng.choice([extra, value + extra, extra + value, value[: len(value) // 2]]))
    return f"hostile value at {_show(path)}"


def m_huge(rng: random.Random, case: Case) -> str:
    path = pick(rng, case.tree, lambda p, v: bool(p))
    if path is None:
        return ""
    kind = rng.randrange(4)
    size = rng.choice([1_000, 10_000, 100_000])
    value: Any = ("z" * (size * 10) if kind == 0 else [f"i{i}" for i in range(size)] if kind == 1
                  else {f"k{i}": i for i in range(size)} if kind == 2 else 10 ** rng.choice([20, 400, 4000]))
    put(case.tree, path, value)
    return f"huge value ({kind}, {size}) at {_show(path)}"


def m_deep(rng: random.Random, case: Case) -> str:
    path = pick(rng, case.tree, lambda p, v: bool(p))
    if path is None:
        return ""
    depth = rng.choice([20, 60, 100, 115, 125, 140, 300])
    put(case.tree, path, deep_value(depth, rng))
    return f"{depth}-deep value at {_show(path)}"


def m_splice(rng: random.Random, case: Case) -> str:
    """Replace a subtree with a subtree of another corpus pipeline."""
    donor = load_corpus()[rng.randrange(len(load_corpus()))][1]
    source = pick(rng, donor, lambda p, v: bool(p))
    target = pick(rng, case.tree, lambda p, v: bool(p) and (source is None or p[-1] == source[-1]))
    if source is None or target is None:
        return ""
    put(case.tree, target, copy.deepcopy(get(donor, source)))
    return f"splice {_show(source)} over {_show(target)}"


def m_yaml_raw(rng: random.Random, case: Case) -> str:
    """Put a raw YAML snippet (tag, alias, YAML 1.1 scalar) where a value was."""
    path = pick(rng, case.tree, lambda p, v: bool(p) and not isinstance(v, (dict, list)))
    if path is None:
        return ""
    snippet = rng.choice(YAML_SNIPPETS)
    put(case.tree, path, MARK)
    case.text_ops.append(("raw", snippet))
    return f"raw YAML {snippet!r} at {_show(path)}"


TREE_MUTATIONS: list[Callable[[random.Random, Case], str]] = [
    m_drop, m_clone, m_retype, m_dangle, m_cycle, m_rename, m_hostile_value, m_huge, m_deep, m_splice, m_yaml_raw,
]
WEIGHTS = [3, 2, 3, 3, 2, 4, 4, 1, 1, 2, 1]


def _field(path: Path_) -> Any:
    """The field a value belongs to (a list item belongs to the list's field)."""
    for part in reversed(path):
        if not isinstance(part, int):
            return part
    return None


def _show(path: Path_) -> str:
    text = ".".join(str(p)[:30] for p in path)
    return text if len(text) <= 100 else text[:97] + "..."


def _replace_strings(tree: Any, mapping: dict[str, str]) -> Any:
    if isinstance(tree, Pairs):
        return Pairs((mapping.get(k, k), _replace_strings(v, mapping)) for k, v in tree)
    if isinstance(tree, dict):
        return {mapping.get(k, k) if isinstance(k, str) else k: _replace_strings(v, mapping) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_replace_strings(v, mapping) for v in tree]
    return mapping.get(tree, tree) if isinstance(tree, str) else tree


# ---------------------------------------------------------------------------------------------
# Text mutations: (name, argument), applied in order to the written text


def _raw(text: str, snippet: str) -> str:
    for quoted in (f"'{MARK}'", f'"{MARK}"', MARK):
        if quoted in text:
            return text.replace(quoted, snippet if "\n" not in snippet else json.dumps(snippet), 1)
    return text


TEXT_OPS: dict[str, Callable[[str, Any], str]] = {
    "raw": _raw,
    "bom": lambda text, _: "\ufeff" + text,
    "crlf": lambda text, _: text.replace("\n", "\r\n"),
    "tabs": lambda text, _: text.replace("  ", "\t", 3),
    "truncate": lambda text, fraction: text[: int(len(text) * fraction)],
    "nul": lambda text, fraction: text[: int(len(text) * fraction)] + "\x00" + text[int(len(text) * fraction):],
    "garbage": lambda text, junk: text + junk,
    "second-doc": lambda text, doc: text + "\n---\n" + doc,
}


def text_mutation(rng: random.Random) -> tuple[str, Any]:
    op = rng.choice(["bom", "crlf", "tabs", "truncate", "nul", "garbage", "second-doc"])
    arg = {"truncate": rng.random(), "nul": rng.random(),
           "garbage": rng.choice(["}", "]]", "\n: x", "\n---\n", "\n...\n", "\x1a", "{{"]),
           "second-doc": rng.choice(["platforms: {}", "[]", "platforms: {kubernetes: {deploymentSpec: 1}}",
                                     "a: 1\n---\nb: 2", "~"])}.get(op)
    return op, arg


# ---------------------------------------------------------------------------------------------
# The corpus and case generation


@lru_cache(maxsize=1)
def load_corpus() -> list[tuple[str, Any]]:
    """(stem, tree) of every corpus file; a platform spec (second document) stays as ``platformSpec``."""
    out = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix not in (".yaml", ".json"):
            continue
        docs = list(yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        tree = docs[0] if len(docs) == 1 else {"pipelineSpec": docs[0], "platformSpec": docs[1]}
        out.append((path.stem, tree))
    return out


def make_case(rng: random.Random, index: int) -> Case:
    stem, tree = rng.choice(load_corpus())
    case = Case(name=f"fuzz-{index}-{stem[:40]}", tree=copy.deepcopy(tree))
    for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
        mutate = rng.choices(TREE_MUTATIONS, WEIGHTS)[0]
        step = mutate(rng, case)
        if step:
            case.steps.append(step)
    case.fmt = "json" if _needs_json(case.tree) or (rng.random() < 0.3 and not case.text_ops) else "yaml"
    if case.fmt == "json":
        case.text_ops = [op for op in case.text_ops if op[0] != "raw"]
    if rng.random() < 0.15:
        case.text_ops.append(text_mutation(rng))
        case.steps.append(f"text {case.text_ops[-1][0]}")
    return case


# ---------------------------------------------------------------------------------------------
# Running one case: the oracle


class CaseTimeout(BaseException):
    """Raised by the timer; a BaseException so no ``except Exception`` in the code under test swallows it."""


@dataclass
class Outcome:
    kind: str
    """ok | refused | crash | bad-error | schema | timeout"""
    stage: str = ""
    detail: str = ""
    signature: str = ""
    seconds: float = 0.0
    trace: str = field(default="", repr=False)

    @property
    def finding(self) -> bool:
        return self.kind not in ("ok", "refused")


@lru_cache(maxsize=2)
def validator(target: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMAS[target].read_text()))


def run_case(file: str, text: str, timeout: float) -> Outcome:
    """Run one input through every stage; classify what happened."""
    start = time.perf_counter()
    stage = Stage()

    def expired(signum: int, frame: Any) -> None:
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        outcome = _stages(file, text, stage)
    except CaseTimeout:
        outcome = Outcome("timeout", stage.name, f"over {timeout}s", f"timeout:{stage.name}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    outcome.seconds = time.perf_counter() - start
    return outcome


@dataclass
class Stage:
    """The stage a case is in (read when the timer expires)."""

    name: str = "load"


def _stages(file: str, text: str, stage: Stage) -> Outcome:
    from translators.argo import compile_workflow
    from translators.options import CompileOptions
    from translators.tekton import compile_pipeline_run

    stage.name = "load"
    try:
        doc = load_ir(file, text=text)
        stage.name = "check"
        check_ir(doc)
        stage.name = "plan"
        plan = build_plan(doc)
    except KfpDriverError as error:
        return _refusal(error, file, stage.name)
    except (Exception, RecursionError, MemoryError) as error:  # noqa: BLE001 - the point of a fuzzer
        return _crash(error, stage.name)
    refusals = []
    # every STRING pipeline parameter also gets a hostile run value, as `compile --param` would pass it
    hostile = {name: HOSTILE_PARAMETER for name, param in plan.root.inputs.parameters.items()
               if param.type == ParamType.STRING}
    variants = [("argo", compile_workflow, {}), ("tekton", compile_pipeline_run, {})]
    if hostile:
        variants += [("argo", compile_workflow, hostile), ("tekton", compile_pipeline_run, hostile)]
    for target, compile_one, parameters in variants:
        stage.name = target
        try:
            manifest = compile_one(plan, CompileOptions(parameters=parameters))
            stage.name = f"{target}-render"
            rendered = render(manifest, "yaml")
            check_size(rendered, file)
            render(manifest, "json")
            stage.name = f"{target}-schema"
            errors = [e for e in validator(target).iter_errors(manifest)]
            if errors:
                error = errors[0]
                where = "/".join(map(str, error.absolute_path))
                return Outcome("schema", target, f"{where}: {error.message[:300]}", f"schema:{target}:{where}")
        except KfpDriverError as error:  # named as `kfp-driver compile` names it
            refusal = _refusal(error.in_source(file), file, target)
            if refusal.finding:
                return refusal
            refusals.append(refusal)
        except (Exception, RecursionError, MemoryError) as error:  # noqa: BLE001
            return _crash(error, stage.name)
    if LINT:
        stage.name = "lint"
        try:
            from driver.lint.context import IRContext
            from driver.lint.model import LintOptions
            from driver.lint.registry import lint_ir

            lint_ir(IRContext(doc, plan, LintOptions()))
        except (Exception, RecursionError, MemoryError) as error:  # noqa: BLE001 - lint never raises
            return _crash(error, "lint")
    return refusals[0] if refusals else Outcome("ok")


def _refusal(error: KfpDriverError, file: str, stage: str) -> Outcome:
    """A refusal must exit 2 and be one clear line per problem, each naming the file."""
    problems = error.problems if isinstance(error, ProblemList) else [error]
    for problem in problems:
        line = str(problem)
        bad = ("exit code " + str(problem.exit_code) if problem.exit_code != 2 else
               "several lines" if len(line.splitlines()) > 1 else  # as report() prints it
               "Traceback" if "Traceback" in line else
               "does not name the file" if file not in line else "")
        if bad:
            signature = f"bad-error:{stage}:{bad}:{type(problem).__name__}"
            return Outcome("bad-error", stage, f"{bad}: {line[:300]!r}", signature)
    return Outcome("refused", stage, str(problems[0])[:300])


def _crash(error: BaseException, stage: str) -> Outcome:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(ROOT)) and "/hack/" not in f.filename]
    frame = (ours or frames or [None])[-1]
    where = f"{Path(frame.filename).relative_to(ROOT) if ours else Path(frame.filename).name}:{frame.lineno}" \
        if frame is not None else "?"
    kind = "timeout" if isinstance(error, CaseTimeout) else "crash"
    return Outcome(kind, stage, f"{type(error).__name__}: {str(error)[:200]} at {where}",
                   f"{stage}:{type(error).__name__}:{where}",
                   trace="".join(traceback.format_exception(error, limit=-12)))


# ---------------------------------------------------------------------------------------------
# Minimizing a finding


def minimize(case: Case, signature: str, timeout: float, budget: float = 60.0) -> Case:
    """Greedily drop map entries and list items, and shorten strings, while the signature stays the same."""
    deadline = time.monotonic() + budget
    best = copy.deepcopy(case)

    def same(candidate: Case) -> bool:
        return run_case(candidate.file, candidate.text(), timeout).signature == signature

    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for path, value in sorted(walk(best.tree), key=lambda pv: len(pv[0])):
            if time.monotonic() > deadline:
                break
            for candidate_value in _smaller(value):
                trial = copy.deepcopy(best)
                try:
                    trial.tree = put(trial.tree, path, candidate_value) if candidate_value is not _DROP \
                        else _without(trial.tree, path)
                except (KeyError, IndexError, TypeError):
                    continue
                if same(trial):
                    best, changed = trial, True
                    break
            if changed:
                break
    return best


_DROP = object()


def _smaller(value: Any) -> list[Any]:
    options: list[Any] = [_DROP]
    if isinstance(value, (dict, list)) and value:
        options.append(type(value)())
    if isinstance(value, str) and len(value) > 8:
        options.append(value[: len(value) // 2])
    return options


def _without(tree: Any, path: Path_) -> Any:
    if not path:
        raise KeyError("root")
    parent = get(tree, path[:-1])
    if isinstance(parent, Pairs):
        raise KeyError("pairs")
    del parent[path[-1]]
    return tree


# ---------------------------------------------------------------------------------------------
# The session


@dataclass
class Summary:
    cases: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_case: str = ""

    def as_dict(self) -> dict[str, Any]:
        per_case = self.seconds / self.cases if self.cases else 0.0
        return {"cases": self.cases, "outcomes": self.outcomes, "findings": self.findings,
                "seconds": round(self.seconds, 2), "ms_per_case": round(per_case * 1000, 1),
                "slowest_case_s": round(self.slowest, 2), "slowest_case": self.slowest_case,
                "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def fuzz(seed: int, cases: int | None, seconds: float | None, timeout: float, save: Path | None,
         log: Callable[[str], None]) -> Summary:
    rng = random.Random(seed)
    summary = Summary()
    start = time.monotonic()
    index = 0
    while (cases is None or index < cases) and (seconds is None or time.monotonic() - start < seconds):
        case = make_case(rng, index)
        index += 1
        try:
            text = case.text()
        except RecursionError:  # stacked deep values too deep for this writer: not an input worth running
            summary.outcomes["unwritable"] = summary.outcomes.get("unwritable", 0) + 1
            continue
        outcome = run_case(case.file, text, timeout)
        summary.cases += 1
        summary.outcomes[outcome.kind] = summary.outcomes.get(outcome.kind, 0) + 1
        summary.seconds += outcome.seconds
        if outcome.seconds > summary.slowest:
            summary.slowest, summary.slowest_case = outcome.seconds, f"{case.file}: {'; '.join(case.steps)}"
        if outcome.finding and outcome.signature not in summary.findings:
            entry = {"kind": outcome.kind, "stage": outcome.stage, "detail": outcome.detail,
                     "case": case.file, "steps": case.steps}
            summary.findings[outcome.signature] = entry
            log(f"finding {outcome.signature}\n  {outcome.detail}\n  case {case.file}: {'; '.join(case.steps)}")
            if save is not None:
                small = minimize(case, outcome.signature, timeout)
                save.mkdir(parents=True, exist_ok=True)
                target = save / small.file
                target.write_text(small.text(), encoding="utf-8", errors="surrogatepass")
                entry["saved"] = str(target)
                log(f"  minimized -> {target} ({target.stat().st_size} bytes)")
        if index % 200 == 0:
            log(f"{index} cases, {len(summary.findings)} findings, {summary.outcomes}")
    return summary


def replay(files: list[Path], timeout: float) -> int:
    """Run saved inputs (e.g. tests/fuzz_regressions/*); exit 1 if any is a finding."""
    found = False
    for path in files:
        outcome = run_case(str(path), path.read_text(encoding="utf-8", errors="surrogatepass"), timeout)
        found = found or outcome.finding
        print(f"{path}: {outcome.kind} {outcome.stage} ({outcome.seconds:.2f} s) {outcome.detail}")
        if outcome.trace:
            print(outcome.trace)
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, help="stop after N cases (default: 500 unless --seconds)")
    parser.add_argument("--seconds", type=float, help="stop after S seconds")
    parser.add_argument("--timeout", type=float, default=20.0, help="per-case time limit (default 20 s)")
    parser.add_argument("--memory-mb", type=int, default=3072, help="address-space limit of this process")
    parser.add_argument("--save", type=Path, help="minimize each new finding and write it to this directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    parser.add_argument("--replay", nargs="+", type=Path, metavar="FILE",
                        help="run these files instead of fuzzing; print each outcome (and the traceback of a crash)")
    args = parser.parse_args(argv)
    if args.memory_mb:
        limit = args.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if args.replay:
        return replay(args.replay, args.timeout)
    cases = args.cases if args.cases is not None or args.seconds is not None else 500
    summary = fuzz(args.seed, cases, args.seconds, args.timeout, args.save, lambda m: print(m, file=sys.stderr))
    result = summary.as_dict()
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=True))
    else:
        print(f"{result['cases']} cases in {result['seconds']} s ({result['ms_per_case']} ms/case, slowest "
              f"{result['slowest_case_s']} s, max RSS {result['max_rss_mb']} MB): {result['outcomes']}; "
              f"{len(summary.findings)} distinct findings")
    return 1 if summary.findings else 0


if __name__ == "__main__":
    sys.exit(main())
