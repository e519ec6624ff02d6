"""Where a manifest's bytes go: per section, per component, the largest parts and values.

Sizes are bytes of compact JSON, the form the API server receives and etcd stores (``kubectl`` and the
Kubernetes client send JSON); the limit is ``driver.output.K8S_OBJECT_LIMIT``.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from typing import Any, Iterator

COMPONENT_ANNOTATION = "kfp-driver.io/component"
TOP = 10
LARGEST_VALUES = 5


@dataclass(frozen=True)
class Part:
    """A measured piece of the manifest: where it is, what it is, its bytes."""

    location: str
    what: str
    bytes: int
    component: str = ""


@dataclass
class SizeReport:
    total: int
    limit: int
    sections: list[Part]
    parts: list[Part]
    """Templates (Argo) or pipeline tasks (Tekton), largest first."""
    largest_values: list[Part] = field(default_factory=list)

    @property
    def headroom(self) -> int:
        return self.limit - self.total

    def components(self) -> list[tuple[str, int, int]]:
        """(component, bytes, number of parts) for each component, largest first."""
        totals: dict[str, list[int]] = {}
        for part in self.parts:
            entry = totals.setdefault(part.component or "(none)", [0, 0])
            entry[0] += part.bytes
            entry[1] += 1
        return sorted(((name, b, n) for name, (b, n) in totals.items()), key=lambda x: (-x[1], x[0]))

    def to_json(self) -> dict[str, Any]:
        return {"total_bytes": self.total, "limit_bytes": self.limit, "headroom_bytes": self.headroom,
                "sections": [vars(p) for p in self.sections],
                "components": [{"component": c, "bytes": b, "parts": n} for c, b, n in self.components()],
                "top": [vars(p) for p in self.parts[:TOP]],
                "largest_values": [vars(p) for p in self.largest_values]}


def measure(value: Any) -> int:
    """Bytes of ``value`` as compact JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def size_report(manifest: dict[str, Any]) -> SizeReport:
    """Break ``manifest`` (an Argo Workflow or a Tekton PipelineRun/Pipeline) down by section and part."""
    from driver.output import K8S_OBJECT_LIMIT

    spec = manifest.get("spec", {})
    nested = "pipelineSpec" in spec
    sections = [Part(key, "", measure(value)) for key, value in manifest.items() if key != "spec"]
    sections += [Part(f"spec.{key}", "", measure(value)) for key, value in spec.items() if key != "pipelineSpec"]
    if nested:
        sections += [Part(f"spec.pipelineSpec.{key}", "", measure(value)) for key, value in spec["pipelineSpec"].items()]
    parts = sorted(_argo_parts(spec) if "templates" in spec else _tekton_parts(spec), key=lambda p: (-p.bytes, p.location))
    return SizeReport(measure(manifest), K8S_OBJECT_LIMIT, sorted(sections, key=lambda p: -p.bytes), parts,
                      _largest_values(manifest))


def _argo_parts(spec: dict[str, Any]) -> list[Part]:
    templates = spec.get("templates", [])
    components = {t["name"]: t.get("metadata", {}).get("annotations", {}).get(COMPONENT_ANNOTATION, "")
                  for t in templates}
    parts = []
    for position, template in enumerate(templates):
        component = components[template["name"]] or next(
            (components.get(task.get("template"), "") for task in template.get("dag", {}).get("tasks", [])), "")
        parts.append(Part(f"spec.templates[{position}]", f"template '{template['name']}'", measure(template), component))
    return parts


def _tekton_parts(spec: dict[str, Any]) -> list[Part]:
    pipeline = spec.get("pipelineSpec", spec)
    base = "spec.pipelineSpec" if "pipelineSpec" in spec else "spec"
    parts = []
    for section in ("tasks", "finally"):
        for position, task in enumerate(pipeline.get(section, [])):
            annotations = task.get("taskSpec", {}).get("metadata", {}).get("annotations", {})
            parts.append(Part(f"{base}.{section}[{position}]", f"pipeline task '{task.get('name', '')}'",
                              measure(task), annotations.get(COMPONENT_ANNOTATION, "")))
    return parts


def _largest_values(manifest: dict[str, Any]) -> list[Part]:
    found = heapq.nlargest(LARGEST_VALUES, _strings(manifest, ""), key=lambda item: item[1])
    return [Part(location, _preview(text), size) for location, size, text in found]


def _strings(value: Any, location: str) -> Iterator[tuple[str, int, str]]:
    if isinstance(value, str):
        yield location, measure(value), value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{location}.{key}" if location else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{location}[{index}]")


def _preview(text: str, width: int = 60) -> str:
    from driver.debug.text import cell

    return cell(text, width)


def human(report: SizeReport, top: int = TOP) -> str:
    used = 100 * report.total / report.limit
    state = f"{report.headroom:,} bytes to spare" if report.headroom >= 0 else f"{-report.headroom:,} bytes OVER"
    lines = [f"manifest: {report.total:,} bytes as JSON; limit {report.limit:,} (~1.5 MiB): {state} ({used:.1f}% used)",
             "", "sections:"]
    lines += [f"  {p.location:<34} {p.bytes:>11,}  {_share(p.bytes, report.total)}" for p in report.sections]
    components = report.components()
    lines += ["", f"per component ({len(components)}):"]
    lines += [f"  {c:<34} {b:>11,}  {_share(b, report.total)}  {n} part{'s' if n != 1 else ''}"
              for c, b, n in components[:top]]
    if len(components) > top:
        lines.append(f"  … {len(components) - top} more")
    lines += ["", "top contributors:"]
    what = max((len(p.what) for p in report.parts[:top]), default=0)
    lines += [f"  {p.what:<{what}} {p.bytes:>11,}  {_share(p.bytes, report.total)}  {p.location}"
              for p in report.parts[:top]]
    lines += ["", "largest values:"]
    where = max((len(p.location) for p in report.largest_values), default=0)
    lines += [f"  {p.location:<{where}} {p.bytes:>9,}  {p.what}" for p in report.largest_values]
    return "\n".join(lines) + "\n"


def one_line(report: SizeReport, top: int = 2) -> str:
    """The largest section and parts in one line, for the compile error."""
    section = report.sections[0]
    inside = [p for p in report.parts if p.location.startswith(section.location + "[")]
    parts = "; ".join(f"{p.what} {p.bytes:,} B" for p in report.parts[:top])
    count = f", {len(inside)} parts" if inside else ""
    return f"{section.location} {section.bytes:,} B ({_share(section.bytes, report.total).strip()}{count}); {parts}"


def _share(part: int, total: int) -> str:
    return f"{100 * part / total:5.1f}%" if total else "    -"
