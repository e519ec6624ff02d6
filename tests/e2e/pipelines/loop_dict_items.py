"""ParallelFor over a static list of dicts, using sub-fields of the loop item.

Proves: ``item.a`` and ``item.b`` resolve per iteration as ints (the SDK types every sub-field like the
first value of the first item, so all values are ints here); a whole dict item can be passed on as a dict.
"""

from kfp import dsl


@dsl.component
def describe(a: int, b: int) -> str:
    assert type(a) is int and type(b) is int, (type(a), type(b))
    return f'{a}+{b}={a + b}'


@dsl.component
def keys(item: dict) -> str:
    return ','.join(f'{k}:{v}' for k, v in sorted(item.items()))


@dsl.pipeline(name='loop-dict-items')
def loop_dict_items():
    with dsl.ParallelFor([{'a': 1, 'b': 10}, {'a': 2, 'b': 20}, {'a': 3, 'b': 30}]) as item:
        describe(a=item.a, b=item.b)
        keys(item=item)


PIPELINE = loop_dict_items
