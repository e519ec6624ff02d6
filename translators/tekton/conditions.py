"""Plan conditions -> Tekton ``when`` expressions, with values kept as data.

Tekton substitutes task results into a ``when`` expression last (after parameters and context), then
compares ``input`` with ``values`` as plain strings. So ``==``, ``!=`` and ``in`` of a value against
compile-time literals, or of two string values, compile to ``input/operator/values`` and a value can hold
quotes, ``{{…}}`` or ``$(…)`` without changing the decision. Top-level ``&&`` becomes several ``when``
entries (Tekton ANDs them); ``!`` is pushed inwards where that keeps a conjunction.

What that form cannot say (``<``, arithmetic, ``||`` across inputs) needs a CEL ``when`` (feature flag
``enable-cel-in-whenexpression``). Tekton pastes substituted values into the CEL source before compiling
it (``ResolvedPipelineTask.EvaluateCEL`` builds an environment without variables), so a crafted value
could rewrite the expression. CEL is therefore used only when every run-time operand is a numeric or
boolean task output, whose text the launcher writes itself (``3``, ``1.5``, ``true``); everything else is
refused at compile time. Operands known at compile time are folded into literals first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from driver.plan.conditions import BinOp, Call, ConditionError, Expr, ListLit, Lit, Neg, Not, Ref, evaluate, refs
from driver.plan.model import ParamType
from driver.plan.values import encode_value
from translators.tekton import exprs
from translators.tekton.values import Const, Value

NUMBERS = (ParamType.NUMBER_INTEGER, ParamType.NUMBER_DOUBLE)
_CONVERSION_TYPES = {"int": ParamType.NUMBER_INTEGER, "double": ParamType.NUMBER_DOUBLE,
                     "string": ParamType.STRING, "bool": ParamType.BOOLEAN}
_CEL_OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "&&", "||")


@dataclass(frozen=True)
class WhenIn:
    """``input`` (not) in ``values``; strings are literals, values are run-time variables."""

    input: Union[Value, str]
    values: tuple[Union[Value, str], ...]
    negate: bool = False


@dataclass(frozen=True)
class WhenCel:
    """A CEL expression; values are spliced in as quoted text (only launcher-typed outputs)."""

    pieces: tuple[Union[Value, str], ...]


Guard = Union[WhenIn, WhenCel]
NEVER = WhenIn("false", ("true",))
"""A guard that is always false: the condition folded to false at compile time."""


@dataclass(frozen=True)
class Operand:
    """A condition input: its value, declared type, and whether the launcher wrote its text."""

    value: Value | None
    type: ParamType
    launcher_typed: bool = False


class ConditionUnsupported(ValueError):
    """The condition cannot be expressed safely in Tekton."""


def compile_condition(expr: Expr, operands: dict[str, Operand]) -> tuple[Guard, ...]:
    """``when`` expressions equivalent to ``expr`` (all must hold)."""
    guards: list[Guard] = []
    for conjunct in _conjuncts(_fold(expr, operands)):
        if isinstance(conjunct, Lit):
            if conjunct.value is not True:
                return (NEVER,)
            continue
        guard = _membership(conjunct, operands) or _cel(conjunct, operands)
        if guard is NEVER:
            return (NEVER,)
        if guard is not None:
            guards.append(guard)
    return tuple(_merge_exclusions(guards))


def _merge_exclusions(guards: list[Guard]) -> list[Guard]:
    """``x notin A`` and ``x notin B`` -> ``x notin A+B`` (an elif chain's "none of the above")."""
    merged: list[Guard] = []
    for guard in guards:
        previous = next((g for g in merged if isinstance(g, WhenIn) and isinstance(guard, WhenIn) and g.negate
                         and guard.negate and g.input == guard.input), None)
        if previous is None:
            merged.append(guard)
            continue
        assert isinstance(previous, WhenIn) and isinstance(guard, WhenIn)
        values = previous.values + tuple(v for v in guard.values if v not in previous.values)
        merged[merged.index(previous)] = WhenIn(previous.input, values, True)
    return merged


# ---------------------------------------------------------------------------------------------
# folding compile-time operands


def _fold(expr: Expr, operands: dict[str, Operand]) -> Expr:
    if isinstance(expr, Ref):
        operand = operands[expr.name]
        if operand.value is None:
            return Lit(None)
        if isinstance(operand.value, Const):
            return Lit(operand.value.value)
        return expr
    if isinstance(expr, Lit):
        return expr
    folded: Expr
    if isinstance(expr, ListLit):
        folded = ListLit(tuple(_fold(item, operands) for item in expr.items))
    elif isinstance(expr, Not):
        folded = Not(_fold(expr.arg, operands))
    elif isinstance(expr, Neg):
        folded = Neg(_fold(expr.arg, operands))
    elif isinstance(expr, Call):
        folded = Call(expr.func, _fold(expr.arg, operands))
    else:
        folded = BinOp(expr.op, _fold(expr.left, operands), _fold(expr.right, operands))
    if refs(folded):
        return folded
    try:
        return Lit(evaluate(folded, lambda name: None))
    except ConditionError as exc:
        raise ConditionUnsupported(f"cannot evaluate a constant part: {exc}") from None


def _conjuncts(expr: Expr) -> list[Expr]:
    if isinstance(expr, BinOp) and expr.op == "&&":
        return _conjuncts(expr.left) + _conjuncts(expr.right)
    if isinstance(expr, Not):
        inner = expr.arg
        if isinstance(inner, Not):
            return _conjuncts(inner.arg)
        if isinstance(inner, BinOp) and inner.op == "||":
            return _conjuncts(Not(inner.left)) + _conjuncts(Not(inner.right))
        if isinstance(inner, Lit) and isinstance(inner.value, bool):
            return [Lit(not inner.value)]
    return [expr]


# ---------------------------------------------------------------------------------------------
# input/operator/values


def _membership(expr: Expr, operands: dict[str, Operand], negate: bool = False) -> Guard | None:
    if isinstance(expr, Not):
        return _membership(expr.arg, operands, not negate)
    if not isinstance(expr, BinOp):
        return None
    if expr.op == "||" and not negate:
        left, right = _membership(expr.left, operands), _membership(expr.right, operands)
        if isinstance(left, WhenIn) and isinstance(right, WhenIn) and left.input == right.input \
                and not left.negate and not right.negate:
            return WhenIn(left.input, left.values + right.values)
        return None
    if expr.op in ("==", "!="):
        negate ^= expr.op == "!="
        for subject, other in ((expr.left, expr.right), (expr.right, expr.left)):
            target = _subject(subject, operands)
            if target is None:
                continue
            name, kind = target
            if isinstance(other, Lit):
                return _literal_guard(name, kind, [other.value], operands, negate)
            other_target = _subject(other, operands)
            if other_target is not None and kind == other_target[1] == ParamType.STRING \
                    and isinstance(subject, Ref) and isinstance(other, Ref):
                return WhenIn(operands[name].value, (operands[other_target[0]].value,), negate)
        return None
    if expr.op == "in" and isinstance(expr.right, ListLit) and all(isinstance(i, Lit) for i in expr.right.items):
        target = _subject(expr.left, operands)
        if target is not None:
            literals = [item.value for item in expr.right.items if isinstance(item, Lit)]
            return _literal_guard(*target, literals, operands, negate)
    return None


def _subject(expr: Expr, operands: dict[str, Operand]) -> tuple[str, ParamType] | None:
    """A run-time operand, possibly under a conversion: its name and the type it is compared as."""
    if isinstance(expr, Ref):
        return expr.name, operands[expr.name].type
    if isinstance(expr, Call) and isinstance(expr.arg, Ref):
        return expr.arg.name, _CONVERSION_TYPES[expr.func]
    return None


def _literal_guard(name: str, kind: ParamType, literals: list[Any], operands: dict[str, Operand],
                   negate: bool) -> Guard | None:
    forms: list[str] = []
    for literal in literals:
        forms += [form for form in _forms(literal, kind) if form not in forms]
    if not forms:  # the value can never equal these literals
        return None if negate else NEVER
    for form in forms:
        if not exprs.is_inert(form):
            raise ConditionUnsupported(f"the literal {form!r} looks like a Tekton variable, which Tekton would "
                                       "substitute")
    return WhenIn(operands[name].value, tuple(forms), negate)  # type: ignore[arg-type]


def _forms(literal: Any, kind: ParamType) -> list[str]:
    """Texts a value of ``kind`` equal to ``literal`` can have on the wire."""
    if kind == ParamType.STRING:
        return [literal] if isinstance(literal, str) else []
    if kind in NUMBERS:
        if isinstance(literal, bool) or not isinstance(literal, (int, float)):
            return []
        if float(literal).is_integer():
            whole = int(literal)
            return [str(whole), f"{whole}.0"]
        return [repr(float(literal))]
    if kind == ParamType.BOOLEAN:
        if not isinstance(literal, bool):
            return []
        return ["true", "True"] if literal else ["false", "False"]
    return [encode_value(literal, kind)]


# ---------------------------------------------------------------------------------------------
# CEL, for launcher-typed numbers and booleans only


def _cel(expr: Expr, operands: dict[str, Operand]) -> WhenCel:
    for name in sorted(refs(expr)):
        operand = operands[name]
        if not operand.launcher_typed or operand.type not in NUMBERS + (ParamType.BOOLEAN,):
            what = "a pipeline parameter" if not operand.launcher_typed else f"a {operand.type.value} value"
            raise ConditionUnsupported(
                f"needs a CEL 'when' expression, and input '{name}' is {what}: Tekton pastes its text into "
                "the CEL source, so a crafted value could change the decision (only numeric and boolean task "
                "outputs are safe there)")
    # Tekton's reconciler evaluates CEL 'when's before it substitutes results too: a number not yet
    # substituted must make the expression false, not an error (which fails the whole run)
    guards: list[Union[Value, str]] = []
    for name in sorted(refs(expr)):
        operand = operands[name]
        if operand.type in NUMBERS:
            guards += ["'", operand.value, f"'.matches('{_CEL_NUMBER}') && "]
    return WhenCel(tuple(_merge(["("] + guards + _cel_pieces(expr, operands) + [")"] if guards
                                else _cel_pieces(expr, operands))))


_CEL_NUMBER = r"^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$"
"""How the launcher writes a number (JSON); anything else, e.g. an unsubstituted ``$(tasks...)``, fails it."""


def _cel_pieces(expr: Expr, operands: dict[str, Operand]) -> list[Union[Value, str]]:
    if isinstance(expr, Lit):
        try:
            return [exprs.cel_literal(expr.value)]
        except TypeError as exc:
            raise ConditionUnsupported(str(exc)) from None
    if isinstance(expr, Ref):
        operand = operands[expr.name]
        assert operand.value is not None
        if operand.type == ParamType.BOOLEAN:
            return ["('", operand.value, "' == 'true')"]
        return ["double('", operand.value, "')"]
    if isinstance(expr, ListLit):
        items = [_cel_pieces(item, operands) for item in expr.items]
        return ["["] + _join(items, ", ") + ["]"]
    if isinstance(expr, Not):
        return ["!("] + _cel_pieces(expr.arg, operands) + [")"]
    if isinstance(expr, Neg):
        return ["-("] + _cel_pieces(expr.arg, operands) + [")"]
    if isinstance(expr, Call):
        if expr.func == "int":
            return ["double(int("] + _cel_pieces(expr.arg, operands) + ["))"]
        if expr.func == "double":
            return _cel_pieces(expr.arg, operands)
        raise ConditionUnsupported(f"{expr.func}() of a number has no safe CEL form")
    if expr.op == "in":
        return ["("] + _cel_pieces(expr.left, operands) + [" in "] + _cel_pieces(expr.right, operands) + [")"]
    if expr.op not in _CEL_OPERATORS:
        raise ConditionUnsupported(f"operator {expr.op} has no safe CEL form")
    return ["("] + _cel_pieces(expr.left, operands) + [f" {expr.op} "] + _cel_pieces(expr.right, operands) + [")"]


def _join(groups: list[list[Union[Value, str]]], separator: str) -> list[Union[Value, str]]:
    joined: list[Union[Value, str]] = []
    for index, group in enumerate(groups):
        if index:
            joined.append(separator)
        joined += group
    return joined


def _merge(pieces: list[Union[Value, str]]) -> list[Union[Value, str]]:
    merged: list[Union[Value, str]] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged
