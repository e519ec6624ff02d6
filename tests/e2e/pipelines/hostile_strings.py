"""Hostile strings (quotes, {{...}}, $(...), backticks, a newline, non-ASCII) as data, never as code.

Proves: the same hostile string, given as a pipeline parameter and as a compile-time constant, arrives
byte for byte in a lightweight Python component (its return value) and in a container component's argv
(which ``printf '%s'`` writes to its output file); nothing in it is expanded by a shell or a template.
"""

from kfp import dsl
from kfp.dsl import OutputPath

HOSTILE = 'it\'s "q" {{workflow.name}} $(echo pwned) `id` }}\nline2 ünï 🙂'


@dsl.component
def echo_py(text: str) -> str:
    return text


@dsl.container_component
def echo_sh(text: str, out: OutputPath(str)):
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-c', 'printf "%s" "$0" > "$1"'],
                             args=[text, out])


@dsl.pipeline(name='hostile-strings')
def hostile_strings(value: str):
    echo_py(text=value).set_caching_options(False)
    echo_py(text=HOSTILE).set_caching_options(False)
    echo_sh(text=value).set_caching_options(False)
    echo_sh(text=HOSTILE).set_caching_options(False)


PIPELINE = hostile_strings
