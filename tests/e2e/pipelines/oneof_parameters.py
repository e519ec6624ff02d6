"""dsl.OneOf over parameter outputs of If/Elif/Else branches.

Proves: the value of whichever branch ran is the OneOf value, both for a downstream task and for the
pipeline output.
"""

from kfp import dsl


@dsl.component
def make(text: str) -> str:
    return text


@dsl.component
def consume(text: str) -> str:
    return f'got {text}'


@dsl.pipeline(name='oneof-parameters')
def oneof_parameters(mode: str = 'a') -> str:
    with dsl.If(mode == 'a'):
        a = make(text='from-a')
    with dsl.Elif(mode == 'b'):
        b = make(text='from-b')
    with dsl.Else():
        c = make(text='from-else')
    chosen = dsl.OneOf(a.output, b.output, c.output)
    consume(text=chosen)
    return chosen


PIPELINE = oneof_parameters
