"""CEL conditions from the IR, parsed once into a small expression tree.

The IR writes conditions such as
``!(int(inputs.parameter_values['pipelinechannel--n']) < 5) && inputs.parameter_values['c'] == 'heads'``.
The CEL library parses the text; this module reduces its syntax tree to the few node kinds KFP emits.
Targets render the tree in their own syntax (values stay data); ``evaluate`` runs it locally.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Union

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/", "%")
LOGICAL = ("&&", "||")
CONVERSIONS = ("int", "double", "string", "bool")


@dataclass(frozen=True)
class Lit:
    """A literal: str, int, float, bool or None."""

    value: Any


@dataclass(frozen=True)
class Ref:
    """``inputs.parameter_values['name']``: an input parameter of the task that carries the condition."""

    name: str


@dataclass(frozen=True)
class Call:
    """A type conversion: ``int(x)``, ``double(x)``, ``string(x)``, ``bool(x)``."""

    func: str
    arg: "Expr"


@dataclass(frozen=True)
class Not:
    arg: "Expr"


@dataclass(frozen=True)
class Neg:
    arg: "Expr"


@dataclass(frozen=True)
class BinOp:
    """A comparison, arithmetic or logical operator, or ``in`` over a list literal."""

    op: str
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class ListLit:
    items: tuple["Expr", ...]


Expr = Union[Lit, Ref, Call, Not, Neg, BinOp, ListLit]


class ConditionError(ValueError):
    """The condition text is not valid CEL or uses a construct KFP does not emit."""


_PARSER = None


def _parser():
    global _PARSER
    if _PARSER is None:
        from celpy import celparser  # the lark grammar is built once, on first use

        _PARSER = celparser.CELParser()
    return _PARSER


def parse_condition(text: str) -> Expr:
    """Parse CEL ``text`` into an ``Expr``; raise ``ConditionError`` with the reason."""
    try:
        tree = _parser().parse(text)
    except Exception as exc:  # the CEL library raises its own lark-based errors
        raise ConditionError(f"not a valid CEL expression: {str(exc).splitlines()[0]}") from None
    return _reduce(tree)


def refs(expr: Expr) -> set[str]:
    """Names of all input parameters the expression reads."""
    if isinstance(expr, Ref):
        return {expr.name}
    found: set[str] = set()
    for child in _children(expr):
        found |= refs(child)
    return found


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, (Call, Not, Neg)):
        return (expr.arg,)
    if isinstance(expr, BinOp):
        return (expr.left, expr.right)
    if isinstance(expr, ListLit):
        return expr.items
    return ()


# ---------------------------------------------------------------------------------------------
# reduction of the CEL library's lark tree

_BINARY_RULES = {
    "conditionalor": "||",
    "conditionaland": "&&",
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}
_PASS_THROUGH = {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication",
                 "unary", "member", "primary", "paren_expr"}


def _reduce(node: Any) -> Expr:
    from lark import Token, Tree

    if isinstance(node, Token):
        raise ConditionError(f"unexpected token {node!s}")
    assert isinstance(node, Tree)
    rule, kids = node.data, node.children
    if rule in _PASS_THROUGH and len(kids) == 1:
        return _reduce(kids[0])
    if rule in ("conditionalor", "conditionaland") and len(kids) == 2:
        return BinOp(_BINARY_RULES[rule], _reduce(kids[0]), _reduce(kids[1]))
    if rule in ("relation", "addition", "multiplication") and len(kids) == 2:
        # left operand nested inside an operator node: relation(relation_lt(left), right)
        op_node, right = kids
        return BinOp(_BINARY_RULES[op_node.data], _reduce(op_node.children[0]), _reduce(right))
    if rule == "unary" and len(kids) == 2:
        op = kids[0].data
        arg = _reduce(kids[1])
        if op == "unary_not":
            return Not(arg)
        if op == "unary_neg":
            return Neg(arg)
    if rule == "literal":
        return Lit(_literal(str(kids[0])))
    if rule == "list_lit":
        items = kids[0].children if kids else []
        return ListLit(tuple(_reduce(item) for item in items))
    if rule == "member_index":
        return _input_reference(kids)
    if rule == "ident_arg":
        func = str(kids[0])
        args = kids[1].children if len(kids) > 1 else []
        if func in CONVERSIONS and len(args) == 1:
            return Call(func, _reduce(args[0]))
        raise ConditionError(f"function {func}() is not supported in conditions")
    if rule == "ident":
        raise ConditionError(f"unknown name {kids[0]!s}; conditions read inputs.parameter_values['...']")
    raise ConditionError(f"unsupported CEL construct '{rule}'")


def _input_reference(kids: list[Any]) -> Ref:
    """``inputs.parameter_values['x']`` (also ``inputs.parameters['x']``)."""
    from lark import Tree

    target, index = kids
    dotted = _dotted_name(target)
    if dotted not in ("inputs.parameter_values", "inputs.parameters"):
        raise ConditionError(f"cannot index '{dotted or 'expression'}'; conditions read inputs.parameter_values['...']")
    key = _reduce(index) if isinstance(index, Tree) else None
    if not isinstance(key, Lit) or not isinstance(key.value, str):
        raise ConditionError("inputs.parameter_values[...] needs a string literal key")
    return Ref(key.value)


def _dotted_name(node: Any) -> str:
    from lark import Token, Tree

    if isinstance(node, Token):
        return str(node)
    if isinstance(node, Tree):
        if node.data == "ident":
            return str(node.children[0])
        if node.data == "member_dot":
            return f"{_dotted_name(node.children[0])}.{node.children[1]}"
        if len(node.children) == 1:
            return _dotted_name(node.children[0])
    return ""


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if text[0] in "\"'" or text[:2].lower() in ("r'", 'r"'):
        value = ast.literal_eval(text)
        # \uD83D\uDE42-style escapes arrive as surrogate halves; join them into the character
        return value.encode("utf-16", "surrogatepass").decode("utf-16")
    if text[:1] in ("b", "B"):
        raise ConditionError("bytes literals are not supported in conditions")
    number = text.rstrip("uU")
    if any(ch in number for ch in ".eE") and not number.lower().startswith("0x"):
        return float(number)
    return int(number, 0)


# ---------------------------------------------------------------------------------------------
# evaluation (local runner), with KFP's typing: numbers compare by value whatever their type


def evaluate(expr: Expr, lookup: Callable[[str], Any]) -> Any:
    """Evaluate ``expr``; ``lookup(name)`` returns the typed value of an input parameter."""
    if isinstance(expr, Lit):
        return expr.value
    if isinstance(expr, Ref):
        return lookup(expr.name)
    if isinstance(expr, ListLit):
        return [evaluate(item, lookup) for item in expr.items]
    if isinstance(expr, Not):
        return not _truth(evaluate(expr.arg, lookup))
    if isinstance(expr, Neg):
        return -evaluate(expr.arg, lookup)
    if isinstance(expr, Call):
        return convert(expr.func, evaluate(expr.arg, lookup))
    if expr.op == "&&":
        return _truth(evaluate(expr.left, lookup)) and _truth(evaluate(expr.right, lookup))
    if expr.op == "||":
        return _truth(evaluate(expr.left, lookup)) or _truth(evaluate(expr.right, lookup))
    left, right = evaluate(expr.left, lookup), evaluate(expr.right, lookup)
    return _apply(expr.op, left, right)


def convert(func: str, value: Any) -> Any:
    """CEL's conversion functions over KFP values (strings hold JSON for non-string types)."""
    try:
        if func == "int":
            number = float(value) if isinstance(value, str) else value
            if isinstance(number, float) and not number.is_integer():
                return math.trunc(number)
            return int(number)
        if func == "double":
            return float(value)
        if func == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, bool):
                return "true" if value else "false"
            return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        if func == "bool":
            if isinstance(value, str):
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                return value.lower() == "true"
            return bool(value)
    except (TypeError, ValueError) as exc:
        raise ConditionError(f"{func}({value!r}) failed: {exc}") from None
    raise ConditionError(f"unknown conversion {func}()")


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ConditionError(f"condition operand {value!r} is not a boolean")


def _apply(op: str, left: Any, right: Any) -> Any:
    if op == "in":
        return left in right
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    try:
        if op in ("<", "<=", ">", ">="):
            return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left // right if isinstance(left, int) and isinstance(right, int) else left / right
        if op == "%":
            return left % right
    except (TypeError, ZeroDivisionError) as exc:
        raise ConditionError(f"cannot evaluate {left!r} {op} {right!r}: {exc}") from None
    raise ConditionError(f"unknown operator {op}")


def _equal(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, numbers) and isinstance(right, numbers):
        return float(left) == float(right)
    return type(left) is type(right) and left == right
