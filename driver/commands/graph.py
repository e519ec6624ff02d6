"""``kfp-driver graph``: the pipeline as Mermaid, dot, SVG or PNG; with ``--run``, coloured by a local run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from driver.errors import UsageError

FORMATS = ("mermaid", "dot", "svg", "png")
SUFFIXES = {".mmd": "mermaid", ".mermaid": "mermaid", ".md": "mermaid", ".dot": "dot", ".gv": "dot",
            ".svg": "svg", ".png": "png"}


def register(commands: Any) -> None:
    cmd = commands.add_parser("graph", help="draw the pipeline (mermaid, dot, svg, png)",
                              description="Draw the pipeline: tasks, sub-DAGs, conditions, loops, exit handlers "
                                          "and data edges. Pipelines over 40 tasks are drawn collapsed unless --expand.")
    cmd.add_argument("ir", nargs="?", help="IR file (YAML or JSON); '-' reads stdin. With --run: default the "
                                            "run's own copy (runs/<id>/pipeline.yaml)")
    cmd.add_argument("--format", choices=FORMATS, help="default: from the -o suffix, else mermaid")
    cmd.add_argument("-o", "--output", help="output file (default: stdout; png needs a file)")
    view = cmd.add_mutually_exclusive_group()
    view.add_argument("--expand", dest="expand", action="store_const", const=True,
                      help="show every task inside loops and sub-DAGs (default up to 40 tasks)")
    view.add_argument("--collapse", dest="expand", action="store_const", const=False,
                      help="draw each loop and sub-DAG as one node, and large DAG levels one node per component")
    cmd.add_argument("--run", metavar="WORKDIR", help="colour tasks by state and show durations of the newest "
                                                      "local run in WORKDIR (or of WORKDIR/runs/<id>)")
    cmd.set_defaults(handler=_graph)


def _graph(args: argparse.Namespace) -> int:
    from driver.debug.graph import GraphOptions, build_graph
    from driver.debug.render import to_dot, to_mermaid
    from driver.plan import load_plan

    target = Path(args.output) if args.output else None
    fmt = args.format or (SUFFIXES.get(target.suffix.lower(), "mermaid") if target else "mermaid")
    if fmt == "png" and target is None:
        raise UsageError("--format png writes binary data", hint="give an output file with -o FILE.png")
    records = None
    ir = args.ir
    if args.run:
        from driver.debug.runstate import find_run_dir, load_run

        records = load_run(Path(args.run))
        if ir is None:
            copy = find_run_dir(Path(args.run)) / "pipeline.yaml"
            if not copy.is_file():
                raise UsageError(f"{args.run}: the run keeps no copy of its IR", hint="give the IR file too")
            ir = str(copy)
    if ir is None:
        raise UsageError("kfp-driver graph: an IR file is required (or --run WORKDIR)")
    graph = build_graph(load_plan(ir), GraphOptions(expand=args.expand))
    if records is not None:
        from driver.debug.runstate import apply_run

        apply_run(graph, records)
    text = to_mermaid(graph) if fmt == "mermaid" else to_dot(graph)
    if fmt in ("svg", "png"):
        from driver.debug.image import render_image

        _write(render_image(text, fmt), target)
    else:
        _write(text.encode(), target)
    return 0


def _write(data: bytes, target: Path | None) -> None:
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
