"""Secrets written into the pipeline as literal values (task constants, defaults, env), readable by anyone
who can read the IR, the manifest or the run's recorded inputs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from driver.lint.context import IRContext
from driver.lint.model import Severity
from driver.lint.registry import Hit, rule
from driver.plan.model import Constant, Interface

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_WORDS = {"password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credential",
                 "credentials"}
_KEY_QUALIFIERS = {"api", "access", "secret", "private", "auth", "client", "encryption", "signing", "ssh"}
_CHANNEL = "pipelinechannel--"
FIX = ("read it from a Kubernetes Secret at run time (kfp-kubernetes use_secret_as_env/use_secret_as_volume) "
       "and rotate the exposed value")


def secret_like(name: str) -> bool:
    """True for names whose last word names a secret: db_password, hfToken, aws_secret_access_key.

    Names of secrets (secret_name), paths (token_path) and counts (max_tokens) are not secrets.
    """
    words = [w.lower() for w in _WORD.findall(name.removeprefix(_CHANNEL))]
    if not words:
        return False
    last = words[-1]
    if last == "key":
        return len(words) > 1 and words[-2] in _KEY_QUALIFIERS
    return last in _SECRET_WORDS


def literal(value: Any) -> bool:
    """A non-empty string that is a value, not a path or a placeholder."""
    return isinstance(value, str) and bool(value.strip()) and not value.startswith(("/", "{{", "$("))


@rule("literal-secret", Severity.ERROR, "a secret-like parameter or env var has a literal value in the IR")
def literal_secrets(ctx: IRContext) -> Iterator[Hit]:
    for node in ctx.nodes:
        for name, binding in node.task.parameters.items():
            if secret_like(name) and isinstance(binding.source, Constant) and literal(binding.source.value):
                yield Hit(f"task '{node.path}' passes a literal value to secret-like input '{name}'", FIX,
                          f"{node.task.ir_path}.inputs.parameters['{name}']", node.path)
    yield from _defaults(ctx.plan.root.inputs, "root", "pipeline parameter")
    for component_name, component in ctx.plan.components.items():
        yield from _defaults(component.inputs, f"components['{component_name}']", f"input of '{component_name}'")
    for label, executor, nodes in ctx.executors():
        for name, value in executor.env.items():
            if secret_like(name) and literal(value):
                yield Hit(f"env var '{name}' of executor '{label}' holds a literal value", FIX,
                          f"deploymentSpec.executors['{label}'].container.env", nodes[0].path)


def _defaults(interface: Interface, ir_path: str, what: str) -> Iterator[Hit]:
    for name, param in interface.parameters.items():
        if param.has_default and secret_like(name) and literal(param.default):
            yield Hit(f"{what} '{name}' has a literal default value", FIX,
                      f"{ir_path}.inputDefinitions.parameters['{name}'].defaultValue")
