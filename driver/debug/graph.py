"""The pipeline as a picture model: a networkx DiGraph of tasks, with sub-DAGs as clusters.

Nodes carry ``label`` (lines of user text, unescaped), ``kind`` (task, importer, dag, loop, condition,
exit-handler, group), ``cluster`` (the id of the expanded sub-DAG holding it, or None) and ``paths`` (the
IR task paths it stands for). Edges carry ``label`` (output -> input names) and ``style`` (data, order,
exit). ``graph.graph["clusters"]`` maps a cluster id to its label, kind and parent cluster.

Collapsed, every sub-DAG is one node, and a DAG level with more than ``GROUP_ABOVE`` tasks shows one node
per stage (the tasks at the same depth, e.g. ``stage 3: 23 tasks``, with their most common components) and
one edge per pair of stages, so a 500-task pipeline stays a readable column; expanded shows every task. By default
a pipeline of at most ``AUTO_EXPAND_UP_TO`` tasks is expanded, a larger one collapsed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import networkx as nx

from driver.debug.text import short_condition
from driver.plan.model import Component, Dag, FinalStatus, ImporterExecutor, Plan, Task, TaskOutput, Trigger

GROUP_ABOVE = 40
"""Collapsed view: a DAG level with more tasks than this is drawn one node per stage."""
AUTO_EXPAND_UP_TO = 40
"""Default view: expanded up to this many tasks in all (a picture still readable at a glance)."""
LABEL_WIDTH = 48
EDGE_NAMES = 3
_COPY_SUFFIX = re.compile(r"-\d+$")


@dataclass(frozen=True)
class GraphOptions:
    expand: bool | None = None
    """True: every task; False: collapsed; None: expanded up to ``AUTO_EXPAND_UP_TO`` tasks."""
    group_above: int = GROUP_ABOVE


def build_graph(plan: Plan, options: GraphOptions = GraphOptions()) -> nx.DiGraph:
    """The drawing model of ``plan`` (see the module docstring)."""
    if options.expand is None:
        options = GraphOptions(len(plan.walk()) <= AUTO_EXPAND_UP_TO, options.group_above)
    builder = _Builder(plan, options)
    builder.dag(plan.root, "", None)
    builder.label_edges()
    builder.graph.graph.update(title=plan.display_name or plan.name, clusters=builder.clusters)
    return builder.graph


class _Builder:
    def __init__(self, plan: Plan, options: GraphOptions) -> None:
        self.plan = plan
        self.options = options
        self.graph = nx.DiGraph()
        self.clusters: dict[str, dict[str, Any]] = {}

    def new_id(self) -> str:
        return f"n{self.graph.number_of_nodes()}"

    def dag(self, component: Component, prefix: str, cluster: str | None) -> None:
        assert component.dag is not None
        dag = component.dag
        if not self.options.expand and len(dag.tasks) > self.options.group_above:
            node_of = self.stages(dag, prefix, cluster)
        else:
            node_of = {name: self.task(dag.tasks[name], self.plan.components[dag.tasks[name].component],
                                       prefix + name, cluster) for name in dag.order()}
        self.edges(dag.tasks, node_of)

    def stages(self, dag: Dag, prefix: str, cluster: str | None) -> dict[str, str]:
        """One node per stage: the tasks at the same depth (longest upstream chain) of a large DAG level."""
        depth: dict[str, int] = {}
        for name in dag.order():
            depth[name] = max((depth[up] + 1 for up in dag.tasks[name].after if up in depth), default=0)
        stage_node: dict[int, str] = {}
        for number in sorted(set(depth.values())):
            members = [name for name in dag.order() if depth[name] == number]
            kinds = Counter(_COPY_SUFFIX.sub("", dag.tasks[name].component).removeprefix("comp-") for name in members)
            common = ", ".join(f"{kind} ×{count}" if count > 1 else kind for kind, count in kinds.most_common(3))
            paths = []
            for name in members:
                child = self.plan.components[dag.tasks[name].component]
                paths.append(prefix + name)
                if child.dag is not None:
                    paths += _descendants(self.plan, child, f"{prefix}{name}/")
            stage_node[number] = self.new_id()
            label = [f"stage {number + 1}: {len(members)} task{'s' if len(members) > 1 else ''}",
                     common + (" …" if len(kinds) > 3 else "")]
            self.graph.add_node(stage_node[number], kind="group", cluster=cluster, paths=paths, label=label)
        return {name: stage_node[number] for name, number in depth.items()}

    def task(self, task: Task, child: Component, path: str, cluster: str | None) -> str:
        node = self.new_id()
        kind = _kind(task, child)
        label = [task.label] + ([f"({task.name})"] if task.display_name and task.display_name != task.name else [])
        if task.loop is not None:
            loop = task.loop
            items = f"{len(loop.items)} items" if loop.items is not None else loop.items_input.removeprefix(
                "pipelinechannel--")
            label.append(f"for each in {items}" + (f", parallelism {loop.parallelism}" if loop.parallelism else ""))
        if task.condition is not None:
            label.append(_cut(f"if {short_condition(task.condition.text)}"))
        paths = [path]
        if child.dag is not None and not self.options.expand:
            inner = _descendants(self.plan, child, f"{path}/")
            paths += inner
            label.append(f"[{len(inner)} tasks inside]")
        self.graph.add_node(node, kind=kind, cluster=cluster, paths=paths, label=label)
        if child.dag is not None and self.options.expand:
            self.clusters[f"c{node}"] = {"label": label[0], "kind": kind, "parent": cluster}
            self.graph.nodes[node]["cluster"] = f"c{node}"
            self.dag(child, f"{path}/", f"c{node}")
        return node

    def edges(self, tasks: dict[str, Task], node_of: dict[str, str]) -> None:
        for name, task in tasks.items():
            target = node_of[name]
            for upstream in task.after:
                source = node_of.get(upstream)
                if source is None or source == target:
                    continue
                names = _data_names(task, upstream)
                style = "exit" if task.trigger == Trigger.ALL_COMPLETED else "data" if names else "order"
                if self.graph.has_edge(source, target):
                    data = self.graph.edges[source, target]
                    data["names"].update(names)
                    data["links"] += 1
                    if data["style"] == "order" and names:
                        data["style"] = "data"
                else:
                    self.graph.add_edge(source, target, style=style, names=set(names), links=1)

    def label_edges(self) -> None:
        for source, target, data in self.graph.edges(data=True):
            if "group" in (self.graph.nodes[source]["kind"], self.graph.nodes[target]["kind"]):
                data["label"] = f"{data['links']} link{'s' if data['links'] > 1 else ''}"
                continue
            names = sorted(data["names"])
            more = len(names) - EDGE_NAMES
            data["label"] = ", ".join(names[:EDGE_NAMES]) + (f" +{more}" if more > 0 else "")
            if data["style"] == "exit":
                when = "on exit" if self.graph.nodes[source]["kind"] == "exit-handler" else "after any end"
                data["label"] = f"{when}: {data['label']}" if data["label"] else when


def _kind(task: Task, child: Component) -> str:
    if task.loop is not None:
        return "loop"
    if task.condition is not None:
        return "condition"
    if child.dag is not None:
        return "exit-handler" if child.name.startswith("comp-exit-handler") else "dag"
    return "importer" if isinstance(child.executor, ImporterExecutor) else "task"


def _data_names(task: Task, upstream: str) -> list[str]:
    """``output`` (or ``output→input`` when the names differ) for each input read from ``upstream``."""
    names = []
    for name, binding in [*task.parameters.items(), *task.artifacts.items()]:
        source = binding.source
        if isinstance(source, TaskOutput) and source.task == upstream:
            output = source.output.removeprefix("pipelinechannel--")
            name = name.removeprefix("pipelinechannel--")
            names.append(output if output == name else f"{output}→{name}")
        elif isinstance(source, FinalStatus) and source.task == upstream:
            names.append("status")
    return names


def _descendants(plan: Plan, component: Component, prefix: str) -> list[str]:
    assert component.dag is not None
    found = []
    for name, task in component.dag.tasks.items():
        found.append(prefix + name)
        child = plan.components[task.component]
        if child.dag is not None:
            found += _descendants(plan, child, f"{prefix}{name}/")
    return found


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"
