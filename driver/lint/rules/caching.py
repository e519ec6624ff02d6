"""Cached tasks that read external state by URI: the cache key holds the URI text, not what it points to.

Artifacts are safe (the launcher keys the cache on their content digest, importers included); a STRING
parameter holding ``gs://…``/``s3://…``/``https://…`` that the task fetches itself is not: after the data
behind the URI changes, the next run still reuses the old result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from driver.plan.model import ParamType

URI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


@rule("cache-external-uri", Severity.WARNING,
      "caching is on for a task whose string input is a URI: the cache cannot see the data change")
def cached_uris(ctx: IRContext) -> Iterator[Hit]:
    for node, _ in ctx.containers():
        if not node.task.cache:
            continue
        for name, declared in node.component.inputs.parameters.items():
            if declared.type is not ParamType.STRING:
                continue
            binding = node.task.parameters.get(name)
            if binding is None:
                value = declared.default if declared.has_default else None
            else:
                found = ctx.constant(node, binding, defaults=True)
                value = found.value if found is not None else None
            if isinstance(value, str) and URI.match(value):
                yield Hit(f"task '{node.path}' is cached but reads '{value}' (input '{name}') by URI: a rerun "
                          "reuses the old result after the data there changes",
                          "disable caching for this task (.set_caching_options(False)) or pass the data as an "
                          "artifact (dsl.importer), whose content the cache key covers",
                          f"{node.task.ir_path}.cachingOptions", node.path)
