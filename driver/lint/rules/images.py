"""Images that float: ``:latest`` or no tag and no digest, so two runs may run different code."""

from __future__ import annotations

from collections.abc import Iterator

from driver.lint.context import IRContext, tasks_text
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule


def floating_tag(image: str) -> str:
    """'latest' or 'untagged' when ``image`` does not pin its content, else ''."""
    if "@" in image:
        return ""
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "untagged"
    return "latest" if last.rsplit(":", 1)[1] == "latest" else ""


@rule("image-not-pinned", Severity.WARNING, "an image is ':latest' or has no tag, so reruns may run other code")
def images(ctx: IRContext) -> Iterator[Hit]:
    for label, executor, nodes in ctx.executors():
        wanted = [(executor.image, f"deploymentSpec.executors['{label}'].container.image")]
        platform = nodes[0].component.platform
        for i, init in enumerate(platform.init_containers if platform else ()):
            wanted.append((init.image, f"platforms.kubernetes.deploymentSpec.executors['{label}']"
                                       f".initContainers[{i}].image"))
        for image, path in wanted:
            kind = floating_tag(image)
            if not kind:
                continue
            what = "uses the ':latest' tag" if kind == "latest" else "has no tag"
            repository = image[:-len(":latest")] if kind == "latest" else image
            yield Hit(f"image '{image}' of task {tasks_text(nodes)} {what}: each pull may bring other code, "
                      "and cached results of the old code are reused",
                      f"pin a version or digest: '{repository}:<version>' or '{repository}@sha256:<digest>'",
                      path, nodes[0].path)
