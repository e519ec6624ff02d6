"""Parameters of every type go in and come out with their types intact.

Proves: int/float/bool/str/list/dict pipeline parameters reach lightweight components as the right Python
types (the component asserts ``type(x) is ...``); task outputs of every type flow to downstream tasks;
integer outputs stay integers (also values above 2**31) in task outputs and pipeline outputs.
"""

from typing import NamedTuple

from kfp import dsl


@dsl.component
def add(a: int, b: int) -> int:
    assert type(a) is int and type(b) is int, (type(a), type(b))
    return a + b


@dsl.component
def multiply(a: int, b: int) -> int:
    assert type(a) is int and type(b) is int, (type(a), type(b))
    return a * b


@dsl.component
def scale(x: float, factor: float) -> float:
    assert type(x) is float and type(factor) is float, (type(x), type(factor))
    return x * factor


@dsl.component
def produce(n: int, x: float, flag: bool, name: str, xs: list, cfg: dict) -> NamedTuple(
        'Outputs', [('i', int), ('f', float), ('b', bool), ('s', str), ('l', list), ('d', dict)]):
    from collections import namedtuple
    assert type(n) is int, type(n)
    assert type(x) is float, type(x)
    assert type(flag) is bool, type(flag)
    assert type(name) is str, type(name)
    assert type(xs) is list, type(xs)
    assert type(cfg) is dict, type(cfg)
    out = namedtuple('Outputs', ['i', 'f', 'b', 's', 'l', 'd'])
    return out(n * 10, x / 2, not flag, name.upper(), xs + [len(xs)], {**cfg, 'added': n})


@dsl.component
def check(i: int, f: float, b: bool, s: str, l: list, d: dict) -> str:
    """Asserts the types of task outputs passed on as inputs; returns the values as JSON."""
    import json
    assert type(i) is int, type(i)
    assert type(f) is float, type(f)
    assert type(b) is bool, type(b)
    assert type(s) is str, type(s)
    assert type(l) is list, type(l)
    assert type(d) is dict, type(d)
    return json.dumps({'i': i, 'f': f, 'b': b, 's': s, 'l': l, 'd': d}, sort_keys=True)


@dsl.component
def big() -> int:
    return 2 ** 40 + 1


@dsl.pipeline(name='types-arithmetic')
def types_arithmetic(
    n: int = 3,
    x: float = 1.5,
    flag: bool = True,
    name: str = 'kfp',
    xs: list = [1, 'two', 3.5],
    cfg: dict = {'k': 'v', 'nested': {'n': 1}},
) -> NamedTuple('Outputs', [('total', int), ('scaled', float), ('large', int), ('checked', str)]):
    added = add(a=n, b=4)                       # 7
    product = multiply(a=added.output, b=6)     # 42
    scaled = scale(x=x, factor=2.0)             # 3.0
    produced = produce(n=n, x=x, flag=flag, name=name, xs=xs, cfg=cfg)
    checked = check(i=produced.outputs['i'], f=produced.outputs['f'], b=produced.outputs['b'],
                    s=produced.outputs['s'], l=produced.outputs['l'], d=produced.outputs['d'])
    large = big()
    outputs = NamedTuple('Outputs', [('total', int), ('scaled', float), ('large', int), ('checked', str)])
    return outputs(product.output, scaled.output, large.output, checked.output)


PIPELINE = types_arithmetic
