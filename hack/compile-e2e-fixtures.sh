#!/usr/bin/env bash
# Regenerate the end-to-end IR fixtures: tests/e2e/pipelines/<name>.py -> tests/e2e/ir/<name>.yaml
#
# Needs the KFP SDK (`pip install kfp`), which the project itself does not depend on. Install it in a
# separate virtualenv and point KFP_PYTHON at it, e.g.:
#     python3 -m venv /tmp/venv-kfp && /tmp/venv-kfp/bin/pip install kfp
#     KFP_PYTHON=/tmp/venv-kfp/bin/python hack/compile-e2e-fixtures.sh [NAME...]
# Default KFP_PYTHON: /tmp/venv-kfp/bin/python if it exists, else python3.
# Each pipeline module defines PIPELINE (its @dsl.pipeline). The fixtures are committed; the tests never
# need the SDK. Run this after changing a pipeline source or upgrading the SDK, and commit the result.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${KFP_PYTHON:-}" ]]; then
  if [[ -x /tmp/venv-kfp/bin/python ]]; then KFP_PYTHON=/tmp/venv-kfp/bin/python; else KFP_PYTHON=python3; fi
fi
if ! "$KFP_PYTHON" -c 'import kfp' 2>/dev/null; then
  echo "compile-e2e-fixtures: the KFP SDK is not importable by $KFP_PYTHON." >&2
  echo "  pip install kfp   (into a separate virtualenv, e.g. /tmp/venv-kfp), then" >&2
  echo "  KFP_PYTHON=/tmp/venv-kfp/bin/python $0" >&2
  exit 2
fi

PYTHONDONTWRITEBYTECODE=1 exec "$KFP_PYTHON" - "$root/tests/e2e/pipelines" "$root/tests/e2e/ir" "$@" <<'PY'
import ast
import importlib.util
import re
import sys
import warnings
from pathlib import Path

warnings.filterwarnings('ignore', message='The default base_image', category=FutureWarning)

import kfp
from kfp import compiler

sources, target = Path(sys.argv[1]), Path(sys.argv[2])
wanted = set(sys.argv[3:])
target.mkdir(parents=True, exist_ok=True)
files = sorted(p for p in sources.glob('*.py') if not p.name.startswith('_'))
if wanted:
    files = [p for p in files if p.stem in wanted]
    missing = wanted - {p.stem for p in files}
    if missing:
        sys.exit(f'compile-e2e-fixtures: no pipeline source for: {", ".join(sorted(missing))}')
HEADER_DEFAULT = re.compile(r'^(#    \S+: \S+ \[Default: )(.*)(\])$')


def canonical(value):
    if isinstance(value, dict):
        return '{' + ', '.join(f'{k!r}: {canonical(v)}' for k, v in sorted(value.items())) + '}'
    if isinstance(value, list):
        return '[' + ', '.join(canonical(v) for v in value) + ']'
    return repr(value)


def stable_header(text):
    """The SDK's header comment lists dict defaults in protobuf map order, which varies between runs."""
    lines = text.split('\n')
    for i, line in enumerate(lines):
        if not line.startswith('#'):
            break
        match = HEADER_DEFAULT.match(line)
        if match:
            try:
                lines[i] = match[1] + canonical(ast.literal_eval(match[2])) + match[3]
            except (ValueError, SyntaxError):
                pass
    return '\n'.join(lines)


for source in files:
    spec = importlib.util.spec_from_file_location(f'e2e_pipeline_{source.stem}', source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pipeline = getattr(module, 'PIPELINE', None)
    if pipeline is None:
        sys.exit(f'compile-e2e-fixtures: {source} defines no PIPELINE')
    out = target / f'{source.stem}.yaml'
    compiler.Compiler().compile(pipeline_func=pipeline, package_path=str(out))
    out.write_text(stable_header(out.read_text(encoding='utf-8')), encoding='utf-8')
    print(f'{out.relative_to(target.parents[2])}  (kfp {kfp.__version__})')
PY
