"""Typed builders for Argo's ``{{...}}`` tags and ``{{=expr}}`` expressions.

Every tag or expression the Argo target writes is made here. User values never become code: they
are read as variables inside expressions, and literals are escaped so that quotes, ``{{``/``}}``,
``$(...)``, backticks and newlines stay data.
"""

from __future__ import annotations

import json
from typing import Any

from driver.plan.conditions import BinOp, Call, Expr, ListLit, Lit, Neg, Not, Ref
from driver.plan.model import ParamType
from driver.plan.values import encode_value
from launcher.wire import KUBELET_REFERENCE, PREFIX, escape_tree, needs_escape

RUN_ID = "{{workflow.uid}}"
RUN_NAME = "{{workflow.name}}"
ITEM = "{{item}}"


def tag(path: str) -> str:
    return "{{" + path + "}}"


def input_param(name: str) -> str:
    return tag(f"inputs.parameters.{name}")


def workflow_param(name: str) -> str:
    return tag(f"workflow.parameters.{name}")


def task_output(task: str, name: str) -> str:
    return tag(f"tasks.{task}.outputs.parameters.{name}")


def final_status(task: str, ir_task: str) -> str:
    """``PipelineTaskFinalStatus`` as the KFP SDK reads it, built from the task's Argo phase."""
    state = f'({var_task_status(task)} == "Succeeded" ? "COMPLETE" : "FAILED")'
    fields = (f'"state": {state}, "pipelineTaskName": {literal(ir_task)}, '
              f'"pipelineJobResourceName": workflow.name, '
              f'"error": {{"code": ({var_task_status(task)} == "Succeeded" ? 0 : 2), '
              f'"message": ({var_task_status(task)} == "Succeeded" ? "" : "task " + {literal(ir_task)} + " ended "'
              f' + {var_task_status(task)})}}')
    return expression("toJson({" + fields + "})")


def expression(code: str) -> str:
    """An expression tag: Argo evaluates ``code`` with variables bound to values (never re-parsed).

    The tag ends at the first ``}}``, so nested map literals are closed as ``} }`` (string literals
    never hold a brace: ``literal`` escapes them)."""
    while "}}" in code:
        code = code.replace("}}", "} }")
    return "{{=" + code + (" }}" if code.endswith("}") else "}}")


def argument_value(value: Any, kind: ParamType) -> str:
    """A parameter value as it travels between Argo tasks: string leaves holding ``{{`` escaped
    (``launcher.wire``) so that Argo's repeated substitution passes leave it alone."""
    return encode_value(escape_tree(value), kind)


def json_without_tags(value: Any) -> str:
    """Compact JSON that neither Argo (``{{``) nor the kubelet (``$(VAR)``, ``$$``) rewrites in argv: those
    characters become unicode escapes, which only occur inside JSON strings.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if "{{" in text:
        text = text.replace("{{", "\\u007b\\u007b")
    if "$" in text and KUBELET_REFERENCE.search(text):
        text = text.replace("$", "\\u0024")
    return text


# ---------------------------------------------------------------------------------------------
# expression-language fragments (variables and literals inside ``{{=...}}``)


def var_input(name: str) -> str:
    return f"inputs.parameters[{literal(name)}]"


def var_workflow_param(name: str) -> str:
    return f"workflow.parameters[{literal(name)}]"


def var_task_output(task: str, name: str, *, guarded: bool = False) -> str:
    """``guarded``: nil (not an error) when the task has no such output. Argo (3.7.11+) checks every
    variable an expression names before evaluating it, also in a branch not taken, and waits forever for
    a missing one; guarded accesses are exempt."""
    if guarded:
        return f"tasks[{literal(task)}]?.outputs?.parameters?.[{literal(name)}]"
    return f"tasks[{literal(task)}].outputs.parameters[{literal(name)}]"


def var_task_status(task: str) -> str:
    return f"tasks[{literal(task)}].status"


_SCALAR_FROM_TEXT = {ParamType.NUMBER_INTEGER: "asInt(#)", ParamType.NUMBER_DOUBLE: "asFloat(#)",
                     ParamType.BOOLEAN: '(# == "true")'}


def typed_list(variable: str, item_type: ParamType, depth: int) -> str:
    """A loop's collected output with its numbers and booleans typed again.

    Argo gathers iteration outputs as a JSON list of *strings* unless every value is a JSON object or
    array, so ``[1, 4]`` would reach the consumer as ``["1", "4"]``; nested loops nest the lists."""
    convert = _SCALAR_FROM_TEXT.get(item_type)
    if convert is None:
        return variable
    for _ in range(depth - 1):
        convert = f"map(#, {convert})"
    return f"toJson(map(fromJSON({variable}), {convert}))"


def if_status(task: str, phase: str, then: str, otherwise: str) -> str:
    """``then`` when ``task`` ended in ``phase``, else ``otherwise`` (only the chosen branch is read)."""
    return f"({var_task_status(task)} == {literal(phase)} ? {then} : {otherwise})"


def literal(value: Any) -> str:
    """An expression literal. Strings escape every character that could end a tag or a string."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return '"' + "".join(_escape_char(ch) for ch in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no expression literal for {type(value).__name__}")


_SPECIAL = set('"\\{}')


def _escape_char(ch: str) -> str:
    if ch in _SPECIAL or ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"\\u{ord(ch):04x}"
    return ch


def unescaped(code: str) -> str:
    """The original text of a tag-escaped value (``launcher.wire``) inside an expression."""
    prefix = literal(PREFIX)
    return f"(hasPrefix({code}, {prefix}) ? sprig.b64dec(trimPrefix({code}, {prefix})) : {code})"


def escaped(code: str) -> str:
    """``code``'s string escaped the way the launcher escapes outputs, for values built by an expression."""
    prefix = literal(PREFIX)
    return (f"((({code}) contains {literal('{{')} || hasPrefix({code}, {prefix})) ? "
            f"{prefix} + sprig.b64enc({code}) : ({code}))")


def json_field(variable: str, fields: tuple[str, ...], as_json: bool) -> str:
    """A field of a JSON value held in a string variable (``parameterExpressionSelector``)."""
    path = "$" + "".join(f"[{_jsonpath_key(name)}]" for name in fields)
    picked = f"jsonpath({variable}, {literal(path)})"
    return f"toJson({picked})" if as_json else picked


def _jsonpath_key(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


# ---------------------------------------------------------------------------------------------
# conditions


class ConditionRenderer:
    """Renders a plan condition as an Argo expression; ``resolve`` maps input names to variables.

    String values arrive tag-escaped (``launcher.wire``) and are decoded before use, except where a
    value is only compared for (in)equality with a literal that escaping leaves unchanged: there the
    escaped and the original value give the same answer, and the expression stays readable.
    """

    def __init__(self, resolve, types: dict[str, ParamType]) -> None:
        self.resolve = resolve  # name -> expression fragment for the value as Argo holds it
        self.types = types

    def render(self, expr: Expr) -> str:
        return expression(self._code(expr))

    def _code(self, expr: Expr) -> str:
        if isinstance(expr, Lit):
            return literal(expr.value)
        if isinstance(expr, Ref):
            return self._typed_ref(expr.name)
        if isinstance(expr, ListLit):
            return "[" + ", ".join(self._code(item) for item in expr.items) + "]"
        if isinstance(expr, Not):
            return f"!({self._code(expr.arg)})"
        if isinstance(expr, Neg):
            return f"-({self._code(expr.arg)})"
        if isinstance(expr, Call):
            return self._call(expr)
        assert isinstance(expr, BinOp)
        if expr.op in ("==", "!=") and self._plain_string_comparison(expr):
            left, right = (self._raw(side) for side in (expr.left, expr.right))
            return f"({left} {expr.op} {right})"
        left, right = self._code(expr.left), self._code(expr.right)
        if expr.op in ("==", "!=") and (self._numeric(expr.left) or self._numeric(expr.right)):
            left, right = self._as_float(expr.left, left), self._as_float(expr.right, right)
        return f"({left} {expr.op} {right})"

    def _plain_string_comparison(self, expr: BinOp) -> bool:
        sides = (expr.left, expr.right)
        literal_ok = any(isinstance(s, Lit) and isinstance(s.value, str) and not needs_escape(s.value) for s in sides)
        ref_ok = any(isinstance(s, Ref) and self.types.get(s.name, ParamType.STRING) == ParamType.STRING
                     for s in sides)
        return literal_ok and ref_ok

    def _raw(self, expr: Expr) -> str:
        return self.resolve(expr.name) if isinstance(expr, Ref) else literal(expr.value)  # type: ignore[attr-defined]

    def _typed_ref(self, name: str) -> str:
        value = self.resolve(name)
        kind = self.types.get(name, ParamType.STRING)
        if kind in (ParamType.NUMBER_INTEGER, ParamType.NUMBER_DOUBLE):
            return f"asFloat({value})"
        if kind == ParamType.BOOLEAN:
            return f"(lower({value}) == \"true\")"
        return unescaped(value)

    def _call(self, call: Call) -> str:
        inner = self._code(call.arg)
        if call.func == "int":
            return f"int(asFloat({inner}))" if not self._numeric(call.arg) else f"int({inner})"
        if call.func == "double":
            return f"asFloat({inner})" if not self._numeric(call.arg) else f"float({inner})"
        if call.func == "string":
            return f"string({inner})"
        return f"(lower(string({inner})) == \"true\")"

    def _numeric(self, expr: Expr) -> bool:
        if isinstance(expr, Lit):
            return isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
        if isinstance(expr, Ref):
            return self.types.get(expr.name) in (ParamType.NUMBER_INTEGER, ParamType.NUMBER_DOUBLE)
        if isinstance(expr, Call):
            return expr.func in ("int", "double")
        if isinstance(expr, Neg):
            return True
        return isinstance(expr, BinOp) and expr.op in ("+", "-", "*", "/", "%")

    @staticmethod
    def _as_float(expr: Expr, code: str) -> str:
        return f"float({code})"
