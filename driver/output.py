"""Writing manifests: YAML/JSON text, the Kubernetes object size check, atomic file output."""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from driver.errors import KfpDriverError

K8S_OBJECT_LIMIT = 1_572_864  # ~1.5 MiB: etcd's default request size limit for one object


def render(manifest: Any, fmt: str) -> str:
    """Manifest text: YAML through the C dumper when available, or compact-but-readable JSON."""
    if fmt == "json":
        return json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    import yaml

    return yaml.dump(manifest, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=4096)


@lru_cache(maxsize=1)
def _dumper() -> type:
    """The C dumper when available; never emits aliases (manifests repeat small dicts on purpose)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    # Kubernetes reads YAML 1.1 (sigs.k8s.io/yaml), where a bare y/n is a boolean: quote them
    Dumper.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
    return Dumper


def check_size(text: str, source: str) -> None:
    """Refuse a manifest over the Kubernetes object limit, naming its largest parts."""
    size = len(text.encode())
    if size > K8S_OBJECT_LIMIT:
        from driver.debug.size import one_line, size_report

        manifest = json.loads(text) if text.lstrip().startswith("{") else _load_yaml(text)
        objects = manifest["items"] if manifest.get("kind") == "List" else [manifest]
        largest = one_line(max((size_report(obj) for obj in objects), key=lambda report: report.total))
        target = "" if manifest.get("kind", "").startswith("Workflow") else " --target tekton"
        raise KfpDriverError(
            f"{source}: the manifest is {size:,} bytes, over the ~1.5 MiB Kubernetes object limit; largest: {largest}",
            hint=f"`kfp-driver explain {source}{target} --size` shows every part; split the pipeline or move "
                 "large constants into artifacts")


def _load_yaml(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def write_text(text: str, target: Path | None) -> None:
    """Write to stdout, or to ``target`` through a temporary file and a rename (never half a file)."""
    if target is None:
        sys.stdout.write(text)
        return
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
