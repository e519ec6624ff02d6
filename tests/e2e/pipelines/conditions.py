"""If / Elif / Else on an integer comparison, with a nested condition and a string condition.

Proves: the condition on a task's int output selects exactly one branch of If/Elif/Else (the others are
SKIPPED); a condition nested inside a branch is evaluated with its own inputs; a bool pipeline parameter
and a string comparison work as conditions; a task after the condition groups still runs.
"""

from kfp import dsl


@dsl.component
def number(n: int) -> int:
    return n


@dsl.component
def say(text: str) -> str:
    return text


@dsl.pipeline(name='conditions')
def conditions(n: int, loud: bool = False, word: str = 'hello'):
    num = number(n=n)
    with dsl.If(num.output > 10, name='big'):
        say(text='big')
        with dsl.If(loud == True, name='big-and-loud'):  # noqa: E712 (a pipeline channel, not a bool)
            say(text='BIG')
    with dsl.Elif(num.output > 5, name='medium'):
        say(text='medium')
    with dsl.Else(name='small'):
        say(text='small')
    with dsl.If(word == 'hello', name='is-hello'):
        say(text='word is hello')
    say(text='always').after(num)


PIPELINE = conditions
