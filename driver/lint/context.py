"""What IR rules read: the loaded document (for line numbers), its plan, and value resolution helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from driver.ir import IRDocument
from driver.lint.model import LintOptions
from driver.plan.model import Binding, Constant, ContainerExecutor, ParentInput, Plan, TaskNode


@dataclass
class IRContext:
    doc: IRDocument
    plan: Plan
    options: LintOptions
    nodes: list[TaskNode] = field(init=False)
    by_path: dict[str, TaskNode] = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = self.plan.walk()
        self.by_path = {node.path: node for node in self.nodes}

    def parent(self, node: TaskNode) -> TaskNode | None:
        """The sub-DAG task ``node`` runs in, or None at the root."""
        head, _, _ = node.path.rpartition("/")
        return self.by_path.get(head) if head else None

    def containers(self) -> list[tuple[TaskNode, ContainerExecutor]]:
        """Tasks that run a container, with their executor."""
        return [(node, node.component.executor) for node in self.nodes
                if isinstance(node.component.executor, ContainerExecutor)]

    def executors(self) -> list[tuple[str, ContainerExecutor, list[TaskNode]]]:
        """Container executors by label, each with the tasks that run it (in pipeline order)."""
        grouped: dict[str, tuple[ContainerExecutor, list[TaskNode]]] = {}
        for node, executor in self.containers():
            grouped.setdefault(node.component.executor_label, (executor, []))[1].append(node)
        return [(label, executor, nodes) for label, (executor, nodes) in grouped.items()]

    def constant(self, node: TaskNode, binding: Binding | None, *, defaults: bool = False) -> Constant | None:
        """The compile-time value of a task input, following sub-DAG inputs up to a constant; else None.

        Pipeline parameters are not constants (each run may set them) unless ``defaults`` asks for their
        default values; loop items never are.
        """
        while binding is not None and not binding.fields:
            if isinstance(binding.source, Constant):
                return binding.source
            if not isinstance(binding.source, ParentInput):
                return None
            parent = self.parent(node)
            if parent is None:
                param = self.plan.root.inputs.parameters.get(binding.source.name)
                return Constant(param.default) if defaults and param is not None and param.has_default else None
            loop = parent.task.loop
            if loop is not None and loop.item_input == binding.source.name:
                return None
            binding = parent.task.parameters.get(binding.source.name)
            node = parent
        return None


def tasks_text(nodes: list[TaskNode]) -> str:
    """``'a'`` or ``'a' (and 2 more tasks)`` for messages about an executor several tasks share."""
    more = len(nodes) - 1
    return f"'{nodes[0].path}'" + (f" (and {more} more task{'s' if more > 1 else ''})" if more else "")
