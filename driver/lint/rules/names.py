"""Names the manifest must shorten: over the DNS-label limit they are cut and given a hash suffix
(translators/naming.py), so the engine's UI and ``kubectl`` show a name that differs from the IR's."""

from __future__ import annotations

from collections.abc import Iterator

from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from translators.naming import DNS_LABEL_MAX, dns_label

GENERATE_NAME_MAX = 57
"""The translators leave room for the engine's ``generateName`` suffix in the run name."""


def shortened(name: str, limit: int) -> str:
    """The name the manifest will use when ``name`` is cut to ``limit`` characters, else ''."""
    if len(dns_label(name, max_length=len(name) + 2)) <= limit:
        return ""
    return dns_label(name, limit)


@rule("truncated-name", Severity.WARNING,
      "a pipeline, task or component name is longer than a DNS label allows and will be cut")
def truncated(ctx: IRContext) -> Iterator[Hit]:
    name = ctx.plan.name
    cut = shortened(name, GENERATE_NAME_MAX)
    if cut:
        yield Hit(f"pipeline name '{name}' is {len(name)} characters; runs will be named '{cut}-…'",
                  f"shorten the pipeline name to at most {GENERATE_NAME_MAX} characters", "pipelineInfo.name")
    for node in ctx.nodes:
        cut = shortened(node.task.name, DNS_LABEL_MAX)
        if cut:
            yield Hit(f"task name '{node.task.name}' is over {DNS_LABEL_MAX} characters; the manifest calls it "
                      f"'{cut}'", f"shorten the task name to at most {DNS_LABEL_MAX} characters",
                      node.task.ir_path, node.path)
    if ctx.options.target != "argo":
        return  # only Argo names a template after each component
    for component in ctx.plan.components.values():
        wish = component.name.removeprefix("comp-")
        cut = shortened(wish, DNS_LABEL_MAX)
        if cut:
            yield Hit(f"component '{component.name}' becomes Argo template '{cut}'",
                      f"shorten the component name to at most {DNS_LABEL_MAX + 5} characters",
                      f"components['{component.name}']")
