"""Render a ``build_graph`` model as Mermaid or Graphviz dot text, escaping user text for each syntax."""

from __future__ import annotations

import json
from collections import defaultdict

import networkx as nx

MERMAID_SHAPES = {"task": ('["', '"]'), "importer": ('[/"', '"/]'), "group": ('(["', '"])'),
                  "condition": ('{{"', '"}}'), "loop": ('[["', '"]]'), "dag": ('[["', '"]]'),
                  "exit-handler": ('[["', '"]]')}
DOT_SHAPES = {"task": "box", "importer": "parallelogram", "group": "box3d", "condition": "hexagon",
              "loop": "component", "dag": "tab", "exit-handler": "tab"}
KIND_FILL = {"task": "#ffffff", "importer": "#fff8e1", "group": "#f3e5f5", "condition": "#e3f2fd",
             "loop": "#e8f5e9", "dag": "#f5f5f5", "exit-handler": "#fce4ec"}
STATE_FILL = {"succeeded": "#a5d6a7", "failed": "#ef9a9a", "cached": "#90caf9", "not run": "#e0e0e0"}
MERMAID_ARROWS = {"data": "-->", "order": "-.->", "exit": "==>"}
DOT_EDGE_STYLE = {"data": "solid", "order": "dashed", "exit": "bold"}
_MERMAID_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
                     "|": "#124;"}


def _visible(text: str) -> str:
    """User text on one line: control characters (newlines included) shown as escapes, never as syntax."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def mermaid_text(text: str) -> str:
    """``text`` safe inside a double-quoted Mermaid label (entity codes for quotes and markup)."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in _visible(text))


def dot_text(text: str) -> str:
    """``text`` safe inside a double-quoted dot string (backslashes and quotes escaped)."""
    return _visible(text).replace("\\", "\\\\").replace('"', '\\"')


def _fill(data: dict) -> str:
    return STATE_FILL[data["state"]] if "state" in data else KIND_FILL[data["kind"]]


def _children(graph: nx.DiGraph) -> tuple[dict, dict]:
    """Nodes per cluster (None: top level) and sub-clusters per cluster."""
    nodes: dict = defaultdict(list)
    for node, data in graph.nodes(data=True):
        nodes[data["cluster"]].append(node)
    subclusters: dict = defaultdict(list)
    for cluster, info in graph.graph["clusters"].items():
        subclusters[info["parent"]].append(cluster)
    return nodes, subclusters


def _layout_links(graph: nx.DiGraph) -> list[tuple[str, str]]:
    """Invisible header -> first-task links, so each expanded sub-DAG reads top-down from its header."""
    nodes, subclusters = _children(graph)
    links = []
    for cluster in graph.graph["clusters"]:
        header = cluster[1:]  # a cluster "c<node>" is headed by node "<node>"
        members = [n for n in nodes[cluster] if n != header] + [sub[1:] for sub in subclusters[cluster]]
        inside = set(members)
        links += [(header, node) for node in members if not any(p in inside for p in graph.predecessors(node))]
    return links


def to_mermaid(graph: nx.DiGraph) -> str:
    nodes, subclusters = _children(graph)
    title = json.dumps(_visible(graph.graph.get("title", "")), ensure_ascii=False)  # YAML front matter
    lines = ["---", f"title: {title}", "---", "flowchart TB"]

    def emit(cluster: str | None, indent: str) -> None:
        for node in nodes[cluster]:
            data = graph.nodes[node]
            start, end = MERMAID_SHAPES[data["kind"]]
            lines.append(f"{indent}{node}{start}{'<br>'.join(mermaid_text(line) for line in data['label'])}{end}")
        for sub in subclusters[cluster]:
            info = graph.graph["clusters"][sub]
            lines.append(f'{indent}subgraph {sub}["{mermaid_text(info["label"])}"]')
            emit(sub, indent + "  ")
            lines.append(f"{indent}end")

    emit(None, "  ")
    for source, target, data in graph.edges(data=True):
        arrow = MERMAID_ARROWS[data["style"]]
        label = f'|"{mermaid_text(data["label"])}"|' if data["label"] else ""
        lines.append(f"  {source} {arrow}{label} {target}")
    lines += [f"  {source} ~~~ {target}" for source, target in _layout_links(graph)]
    fills = defaultdict(list)
    for node, data in graph.nodes(data=True):
        fills[_fill(data)].append(node)
    for number, (fill, members) in enumerate(sorted(fills.items())):
        lines.append(f"  classDef s{number} fill:{fill},stroke:#555")
        lines.append(f"  class {','.join(members)} s{number}")
    return "\n".join(lines) + "\n"


def to_dot(graph: nx.DiGraph) -> str:
    nodes, subclusters = _children(graph)
    lines = ["digraph pipeline {", f'  label="{dot_text(graph.graph.get("title", ""))}"; labelloc=t;',
             "  rankdir=TB; compound=true;",
             '  node [fontname="Helvetica", fontsize=11, style=filled];',
             '  edge [fontname="Helvetica", fontsize=9];']

    def emit(cluster: str | None, indent: str) -> None:
        for node in nodes[cluster]:
            data = graph.nodes[node]
            label = "\\n".join(dot_text(line) for line in data["label"])
            lines.append(f'{indent}{node} [label="{label}", shape={DOT_SHAPES[data["kind"]]}, '
                         f'fillcolor="{_fill(data)}"];')
        for sub in subclusters[cluster]:
            info = graph.graph["clusters"][sub]
            lines.append(f"{indent}subgraph cluster_{sub} {{")
            lines.append(f'{indent}  label="{dot_text(info["label"])}"; style="rounded,filled"; '
                         f'fillcolor="{KIND_FILL[info["kind"]]}";')
            emit(sub, indent + "  ")
            lines.append(f"{indent}}}")

    emit(None, "  ")
    for source, target, data in graph.edges(data=True):
        label = f', label="{dot_text(data["label"])}"' if data["label"] else ""
        lines.append(f'  {source} -> {target} [style={DOT_EDGE_STYLE[data["style"]]}{label}];')
    lines += [f"  {source} -> {target} [style=invis];" for source, target in _layout_links(graph)]
    lines.append("}")
    return "\n".join(lines) + "\n"
