"""Container components: sh -c, ConcatPlaceholder, IfPresentPlaceholder (present and absent), OutputPath.

Proves: the command runs through ``sh -c`` with its arguments as ``$0 $1 ...``; ConcatPlaceholder joins
constants and input values into one argument; IfPresentPlaceholder expands ``then`` when the optional
input is given and ``else_`` when it is not (both as a list and nested in a Concat); OutputPath of str
and int outputs (the int stays an int) and an Output[Dataset] written by the shell; the parent folders
of output files exist before the command runs (as KFP's launcher guarantees).
"""

from typing import Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Output, OutputPath


@dsl.container_component
def argv(name: str, text: OutputPath(str), count: OutputPath(int), data: Output[Dataset],
         suffix: Optional[str] = None):
    # writes its argv (after $0..$2), one per line, to the text output
    return dsl.ContainerSpec(
        image='alpine:3.20',
        command=['sh', '-c',
                 'text="$0"; count="$1"; data="$2"; shift 2; printf "%s\\n" "$@" > "$text"; '
                 'printf "%s" "$#" > "$count"; printf "%s" "$*" > "$data"'],
        args=[text, count, data.path,
              dsl.ConcatPlaceholder(['Hello, ', name, '!']),
              dsl.IfPresentPlaceholder(input_name='suffix', then=['--suffix', suffix], else_=['--no-suffix']),
              dsl.ConcatPlaceholder(['mode=', dsl.IfPresentPlaceholder(input_name='suffix', then='with',
                                                                        else_='without')])],
    )


@dsl.container_component
def cat(data: Input[Dataset], copy: OutputPath(str)):
    return dsl.ContainerSpec(image='alpine:3.20', command=['sh', '-c', 'cat "$0" > "$1"'],
                             args=[data.path, copy])


@dsl.pipeline(name='container-components')
def container_components(name: str = 'Ada'):
    with_suffix = argv(name=name, suffix='Esq.')
    without = argv(name=name)
    cat(data=with_suffix.outputs['data'])
    cat(data=without.outputs['data'])


PIPELINE = container_components
