"""Load a KFP v2 pipeline (PipelineSpec YAML or JSON, optional platform spec) and validate its structure.

``load_ir`` reads the file, parses it, checks the pipeline document against the ``kfp-pipeline-spec``
protobufs and converts the Kubernetes platform spec into ``driver.platform`` dataclasses. Every user
error is a one-line ``InputError``/``IRError`` naming the file, the line and the IR path; line numbers
are looked up (by composing the YAML node tree) only when there is something to report.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import sys
import weakref
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import yaml
from google.protobuf import descriptor, json_format, message_factory
from kfp.pipeline_spec import pipeline_spec_pb2

from driver.errors import (InputError, IRError, KfpDriverError, Location, ProblemList, describe, join_path,
                           raise_if_any, unknown_field_hint)
from driver.platform import PlatformSpec

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STDIN = "<stdin>"

MAX_INPUT_BYTES = 40 * 2**20
"""Largest pipeline file read: a 10,000-task pipeline as the KFP SDK writes it is ~31 MB."""
MAX_DEPTH = 128
"""Deepest nesting of mappings and lists in a document (the SDK writes fewer than 20 levels)."""
MAX_VALUES = 2_000_000
"""Most values in a document, counting every use of a YAML alias (a 10,000-task pipeline has ~650,000)."""
MAX_PROBLEMS = 50
"""Most problems reported for one file; one closing line counts the rest."""


@dataclass(frozen=True)
class DocumentLayout:
    """Where the pipeline spec and the platform spec sit in the file: (YAML document index, key prefix)."""

    spec: tuple[int, tuple[str, ...]] = (0, ())
    platform: tuple[int, tuple[str, ...]] = (1, ())


@dataclass
class IRDocument:
    """A loaded, structurally valid pipeline."""

    file: str
    spec: dict
    platform: PlatformSpec | None
    text: str = field(default="", repr=False, compare=False)
    layout: DocumentLayout = field(default_factory=DocumentLayout, repr=False, compare=False)
    _nodes: list[yaml.Node] | None = field(default=None, init=False, repr=False, compare=False)

    def location(self, ir_path: str) -> Location:
        """Where ``ir_path`` (``root.dag.tasks['a']...`` or ``platforms.kubernetes...``) is in the file."""
        return Location(self.file, self._line(ir_path), ir_path)

    def _line(self, ir_path: str) -> int | None:
        parts = parse_path(ir_path)
        index, prefix = self.layout.platform if parts[:1] == ["platforms"] else self.layout.spec
        nodes = self._composed()
        node = nodes[index] if index < len(nodes) else None
        return _line_of(node, [*prefix, *parts]) if node is not None else None

    def _composed(self) -> list[yaml.Node]:
        if self._nodes is None:
            self._nodes = _compose(self.text)
        return self._nodes


def load_ir(source: str | os.PathLike | None, *, text: str | None = None) -> IRDocument:
    """Read, parse and validate a pipeline from a file, ``-``/None (stdin), or ``text``."""
    file = STDIN if source is None or str(source) == "-" else str(source)
    if text is None:
        text = _decode(file, _read_bytes(file))
    else:
        _check_size(file, len(text))
    documents = _parse(file, text)
    _check_shape(file, text, documents)
    spec, platform_raw, layout = _split(file, text, documents)
    doc = IRDocument(file=file, spec=spec, platform=None, text=text, layout=layout)
    problems, count = _spec_problems(doc)
    if platform_raw is not None:
        try:
            doc.platform = _platform(doc, platform_raw)
        except KfpDriverError as error:
            more = error.problems if isinstance(error, ProblemList) else [error]
            problems.extend(more)
            count += len(more)
    raise_if_any(capped(problems, count, file))
    return doc


def capped(problems: list[KfpDriverError], count: int, file: str) -> list[KfpDriverError]:
    """The first ``MAX_PROBLEMS`` of ``count`` problems, and a line saying how many more there are."""
    if count <= MAX_PROBLEMS:
        return problems
    more = IRError(f"{count - MAX_PROBLEMS:,} more problems not shown", location=Location(file),
                   hint="fix the ones above first")
    return [*problems[:MAX_PROBLEMS], more]


# ---------------------------------------------------------------------------------------------
# Reading and parsing

_SIGNATURES = (
    (b"PK\x03\x04", "this is a zip archive; pass the pipeline YAML inside it"),
    (b"PK\x05\x06", "this is an empty zip archive; pass a pipeline YAML file"),
    (b"\x1f\x8b", "this is a gzip-compressed file; decompress it and pass the pipeline YAML inside"),
    (b"\x89PNG", "this is a PNG image, not a pipeline; pass the pipeline YAML"),
    (b"\xff\xd8\xff", "this is a JPEG image, not a pipeline; pass the pipeline YAML"),
    (b"GIF8", "this is a GIF image, not a pipeline; pass the pipeline YAML"),
    (b"%PDF", "this is a PDF document, not a pipeline; pass the pipeline YAML"),
)


def _read_bytes(file: str) -> bytes:
    """The file's bytes, reading no more than one byte over ``MAX_INPUT_BYTES``."""
    try:
        if file == STDIN:
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with open(file, "rb") as stream:
                data = stream.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise InputError("no such file", location=Location(file)) from None
    except IsADirectoryError:
        raise InputError("is a directory; pass a pipeline YAML or JSON file", location=Location(file)) from None
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", location=Location(file)) from None
    _check_size(file, len(data))
    return data


def _check_size(file: str, size: int) -> None:
    if size > MAX_INPUT_BYTES:
        raise InputError(f"larger than the {MAX_INPUT_BYTES // 2**20} MiB limit for a pipeline file",
                         location=Location(file),
                         hint="a 10,000-task pipeline is ~31 MB; move large constants into artifacts")


def _decode(file: str, data: bytes) -> str:
    """Bytes -> text, recognising archives, images and other binary content first."""
    for magic, message in _SIGNATURES:
        if data.startswith(magic):
            raise InputError(message, location=Location(file), hint=_zip_hint(data) if magic == b"PK\x03\x04" else "")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
                         "pass the pipeline YAML or JSON", location=Location(file)) from None
    if "\x00" in text:
        raise InputError("binary content (NUL bytes); pass the pipeline YAML or JSON", location=Location(file))
    return text


def _zip_hint(data: bytes) -> str:
    """Name the YAML/JSON files inside a zip archive, if it can be read."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError):
        return ""
    inside = [n for n in names if n.endswith((".yaml", ".yml", ".json"))]
    return f"it holds {', '.join(inside)}" if inside else ""


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building a large tree makes the cyclic GC rescan it over and over (5x slower on a 30 MB file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse(file: str, text: str) -> list[Any]:
    """The documents of the file: JSON (one) or YAML (one or more)."""
    try:
        with _gc_paused():
            return _parse_text(file, text)
    except RecursionError:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", location=Location(file),
                         hint="flatten the value or pass it as an artifact") from None


def _parse_text(file: str, text: str) -> list[Any]:
    if file.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as error:
            if file.endswith(".json"):
                raise InputError(f"invalid JSON: {error.msg}",
                                 location=Location(file, error.lineno, column=error.colno)) from None
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        what = "; ".join(x for x in (error.context, error.problem) if x)
        raise InputError(f"invalid YAML: {what}", location=Location(
            file, mark.line + 1 if mark else None, column=mark.column + 1 if mark else None)) from None
    except yaml.YAMLError as error:
        raise InputError(f"invalid YAML: {str(error).splitlines()[0]}", location=Location(file)) from None


def _check_shape(file: str, text: str, documents: list[Any]) -> None:
    """Refuse documents nested deeper than ``MAX_DEPTH``, holding themselves, or over ``MAX_VALUES`` values."""
    count = 0
    for index, document in enumerate(documents):
        stack: list[Iterator[tuple[Any, Any]]] = [_children(document)]
        open_ids = [id(document)]
        path: list[Any] = []
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                open_ids.pop()
                if path:
                    path.pop()
                continue
            key, value = item
            count += 1
            if count > MAX_VALUES:
                raise InputError(f"holds more than {MAX_VALUES:,} values (counting each use of a YAML alias)",
                                 location=Location(file), hint="a KFP pipeline needs no YAML aliases; expand or "
                                                               "remove them")
            if not isinstance(value, (dict, list)):
                continue
            if id(value) in open_ids:
                raise InputError("a YAML alias contains itself", location=_shape_location(file, text, index,
                                                                                          [*path, key]))
            if len(stack) >= MAX_DEPTH:
                raise InputError(f"nested more than {MAX_DEPTH} levels deep", location=_shape_location(
                    file, text, index, [*path, key]), hint="flatten the value or pass it as an artifact")
            path.append(key)
            open_ids.append(id(value))
            stack.append(_children(value))


def _children(value: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(value, dict):
        return iter(value.items())
    return iter(enumerate(value) if isinstance(value, list) else ())


def _shape_location(file: str, text: str, index: int, parts: list[Any]) -> Location:
    """Where the walk of ``_check_shape`` stopped: the line, and the IR path (its first levels)."""
    nodes = _compose(text)
    line = _line_of(nodes[index], parts) if index < len(nodes) else None
    ir_path = ""
    for part in parts[:8]:
        ir_path = join_path(ir_path, part if isinstance(part, int) else str(part))
    return Location(file, line, ir_path + ("..." if len(parts) > 8 else ""))


_SPEC_KEYS = {f.json_name for f in pipeline_spec_pb2.PipelineSpec.DESCRIPTOR.fields}


def _split(file: str, text: str, documents: list[Any]) -> tuple[dict, Any, DocumentLayout]:
    """(pipeline spec, raw platform document or None, layout) from the parsed documents."""
    if len(documents) > 2:
        line = _document_line(text, 2)
        raise InputError(f"holds {len(documents)} YAML documents; expected the pipeline spec and at most one "
                         "platform spec", location=Location(file, line))
    first = documents[0] if documents else None
    if first is None:
        raise InputError("no pipeline in this file: it is empty or holds only comments", location=Location(file))
    if not isinstance(first, dict):
        raise InputError(f"the top level is {describe(first)}, not a mapping; expected a KFP PipelineSpec",
                         location=Location(file, _document_line(text, 0)))
    if isinstance(first.get("pipelineSpec"), dict) and len(documents) == 1:
        layout = DocumentLayout(spec=(0, ("pipelineSpec",)), platform=(0, ("platformSpec",)))
        return first["pipelineSpec"], first.get("platformSpec"), layout
    if not _SPEC_KEYS & set(first):
        keys = ", ".join(map(str, list(first)[:5]))
        raise InputError(f"not a KFP pipeline: top-level keys are {keys}; expected pipelineInfo, root, "
                         "components, deploymentSpec", location=Location(file))
    return first, documents[1] if len(documents) == 2 else None, DocumentLayout()


def _platform(doc: IRDocument, raw: Any) -> PlatformSpec:
    if not isinstance(raw, dict):
        raise IRError(f"the platform spec must be a mapping (platforms: {{kubernetes: ...}}), got {describe(raw)}",
                      location=Location(doc.file, _document_line(doc.text, doc.layout.platform[0])))
    return PlatformSpec.from_dict(raw, doc.location)


# ---------------------------------------------------------------------------------------------
# Structural validation against the protobufs

Problems = list[tuple[str, str, str]]
"""(IR path, message, hint) triples."""


def _spec_problems(doc: IRDocument) -> tuple[list[KfpDriverError], int]:
    """Problems of the pipeline document (protobuf structure, a pipeline name): the first ones, and how many."""
    found: Problems = []
    _check_message(doc.spec, pipeline_spec_pb2.PipelineSpec.DESCRIPTOR, "", found)
    deployment = doc.spec.get("deploymentSpec")
    if isinstance(deployment, dict):
        _check_message(deployment, pipeline_spec_pb2.PipelineDeploymentConfig.DESCRIPTOR, "deploymentSpec", found)
    if not found:  # protobuf itself is the last word on what the walk above accepts
        try:
            json_format.ParseDict(doc.spec, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False)
        except (json_format.ParseError, ValueError, TypeError, OverflowError, RecursionError) as error:
            found.append(("", _protobuf_message(error), ""))
    problems: list[KfpDriverError] = [IRError(message, location=doc.location(path), hint=hint)
                                      for path, message, hint in found[:MAX_PROBLEMS]]
    info = doc.spec.get("pipelineInfo")
    named = isinstance(info, dict) and info.get("name")
    if not named and not any(p.location.ir_path.startswith("pipelineInfo") for p in problems):
        path = "pipelineInfo.name" if isinstance(info, dict) else "pipelineInfo"
        problems.append(IRError("the pipeline has no name", location=doc.location(path),
                                hint="set pipelineInfo.name; the KFP SDK writes the pipeline function's name"))
    return problems, len(found) + len(problems) - min(len(found), MAX_PROBLEMS)


def _protobuf_message(error: Exception) -> str:
    """protobuf's nested 'Failed to parse x field: ...' text, reduced to its innermost message."""
    text = re.sub(r"Failed to parse \w+ field: ", "", str(error).splitlines()[0])
    return text.rstrip(".")


_INT_RANGES = {
    descriptor.FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    descriptor.FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    descriptor.FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    descriptor.FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOAT_TYPES = (descriptor.FieldDescriptor.CPPTYPE_DOUBLE, descriptor.FieldDescriptor.CPPTYPE_FLOAT)
_JSON_SCALARS = (str, bool, int, float, type(None))
_LARGEST_DOUBLE = int(sys.float_info.max)


def _check_message(value: Any, desc: descriptor.Descriptor, path: str, out: Problems) -> None:
    """Append every place where ``value`` does not fit message type ``desc`` (proto3 JSON rules).

    A field set to null is removed from ``value``: in proto3 JSON, null means the field is unset.
    """
    special = _WELL_KNOWN.get(desc.full_name)
    if special is not None:
        special(value, desc, path, out)
        return
    if not isinstance(value, dict):
        out.append((path, f"expected a mapping, got {describe(value)}", ""))
        return
    fields = {**desc.fields_by_name, **{f.json_name: f for f in desc.fields}}
    oneofs: dict[str, str] = {}
    nulls = []
    for key, item in value.items():
        fd = fields.get(key) if isinstance(key, str) else None
        sub = join_path(path, str(key))
        if fd is None:  # a hint costs a fuzzy match: only for problems that will be shown
            hint = unknown_field_hint(str(key), [f.json_name for f in desc.fields]) if len(out) < MAX_PROBLEMS else ""
            out.append((sub, "unknown field", hint))
            continue
        if item is None:
            nulls.append(key)
            continue
        oneof = fd.containing_oneof
        if oneof is not None and oneof.name in oneofs:
            out.append((sub, f"'{oneofs[oneof.name]}' and '{key}' cannot both be set",
                        "use one of " + ", ".join(f.json_name for f in oneof.fields)))
        elif oneof is not None:
            oneofs[oneof.name] = key
        _check_field(item, fd, sub, out)
        if fd.enum_type is not None and not fd.is_repeated:
            value[key] = _enum_name(item, fd.enum_type)
    for key in nulls:
        del value[key]


def _check_field(value: Any, fd: descriptor.FieldDescriptor, path: str, out: Problems) -> None:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        _check_map(value, fd.message_type.fields_by_name["value"], path, out)
    elif fd.is_repeated:
        if not isinstance(value, list):
            out.append((path, f"expected a list, got {describe(value)}", ""))
            return
        for i, item in enumerate(value):
            _check_value(item, fd, join_path(path, i), out)
    else:
        _check_value(value, fd, path, out)


def _check_map(value: Any, value_fd: descriptor.FieldDescriptor, path: str, out: Problems) -> None:
    if not isinstance(value, dict):
        out.append((path, f"expected a mapping, got {describe(value)}", ""))
        return
    for key, item in value.items():
        sub = join_path(path, str(key), key=True)
        if not isinstance(key, str):
            out.append((sub, f"a key must be a string, got {describe(key)}", "quote the key"))
        else:
            _check_value(item, value_fd, sub, out)


def _check_value(value: Any, fd: descriptor.FieldDescriptor, path: str, out: Problems) -> None:
    """One value (a single field, list item or map value) of field ``fd``."""
    if fd.message_type is not None:
        if value is None and fd.message_type.full_name != "google.protobuf.Value":
            out.append((path, "null is not allowed here", ""))
        else:
            _check_message(value, fd.message_type, path, out)
        return
    if value is None:
        out.append((path, "null is not allowed here", ""))
        return
    problem = _scalar_problem(value, fd)
    if problem:
        out.append((path, *problem))


def _scalar_problem(value: Any, fd: descriptor.FieldDescriptor) -> tuple[str, str] | None:
    """(message, hint) if ``value`` is not a valid proto3 JSON value for scalar field ``fd``."""
    cpp = fd.cpp_type
    if cpp in _INT_RANGES:
        number = _as_integer(value)
        low, high = _INT_RANGES[cpp]
        if number is None:
            return f"expected an integer, got {describe(value)}", ""
        return None if low <= number <= high else (f"{number} is out of range [{low}, {high}]", "")
    if cpp in _FLOAT_TYPES:
        return None if _is_float(value) else (f"expected a number, got {describe(value)}", "")
    if cpp == descriptor.FieldDescriptor.CPPTYPE_BOOL:
        return None if isinstance(value, bool) else (f"expected true or false, got {describe(value)}", "")
    if cpp == descriptor.FieldDescriptor.CPPTYPE_ENUM:
        return _enum_problem(value, fd.enum_type)
    if isinstance(value, str) or (fd.type == descriptor.FieldDescriptor.TYPE_BYTES and isinstance(value, bytes)):
        return None
    return f"expected a string, got {describe(value)}", "quote the value" if isinstance(value, _JSON_SCALARS) else ""


def _as_integer(value: Any) -> int | None:
    """The integer proto3 JSON reads from ``value`` (int, integral float, or such a string), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and " " in value:
        return None
    try:
        return int(value)
    except (ValueError, OverflowError):
        pass
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _is_float(value: Any) -> bool:
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, (bool, int)):
        return True
    if not isinstance(value, str) or value == "nan":
        return False
    try:
        float(value)
    except ValueError:
        return value in ("NaN", "Infinity", "-Infinity")
    return True


def _enum_name(value: Any, enum: descriptor.EnumDescriptor) -> Any:
    """An enum value given by number, as its name (what the rest of the driver reads); else unchanged."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or value in enum.values_by_name:
        return value
    try:
        found = enum.values_by_number.get(int(value))
    except ValueError:
        return value
    return found.name if found is not None else value


def _enum_problem(value: Any, enum: descriptor.EnumDescriptor) -> tuple[str, str] | None:
    if isinstance(value, str) and value in enum.values_by_name:
        return None
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is not None and number in enum.values_by_number:  # open enums too: no code handles others
            return None
    hint = unknown_field_hint(str(value), [v.name for v in enum.values], "values")
    return f"{value!r} is not a valid {enum.name}", hint


def _check_struct(value: Any, desc: descriptor.Descriptor, path: str, out: Problems) -> None:
    if not isinstance(value, dict):
        out.append((path, f"expected a mapping, got {describe(value)}", ""))
    else:
        _check_json(value, path, out)


def _check_list_value(value: Any, desc: descriptor.Descriptor, path: str, out: Problems) -> None:
    if not isinstance(value, list):
        out.append((path, f"expected a list, got {describe(value)}", ""))
    else:
        _check_json(value, path, out)


def _check_json_value(value: Any, desc: descriptor.Descriptor, path: str, out: Problems) -> None:
    _check_json(value, path, out)


def _check_json(value: Any, path: str, out: Problems) -> None:
    """Any JSON value: mappings with string keys, lists, strings, numbers, booleans, null."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                out.append((join_path(path, str(key), key=True), f"a key must be a string, got {describe(key)}",
                            "quote the key"))
            else:
                _check_json(item, join_path(path, key, key=True), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, join_path(path, i), out)
    elif not isinstance(value, _JSON_SCALARS):
        out.append((path, f"expected a JSON value, got {describe(value)}", "quote it to make it a string"))
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _LARGEST_DOUBLE:
        out.append((path, "the number is too large for a JSON number (a double)", "quote it to make it a string"))


def _check_by_protobuf(value: Any, desc: descriptor.Descriptor, path: str, out: Problems) -> None:
    """Other well-known types (Duration, Timestamp, wrappers, ...): let protobuf judge the value alone."""
    try:
        json_format.ParseDict(value, message_factory.GetMessageClass(desc)())
    except json_format.ParseError as error:
        out.append((path, _protobuf_message(error), ""))


_WELL_KNOWN = {
    "google.protobuf.Struct": _check_struct,
    "google.protobuf.ListValue": _check_list_value,
    "google.protobuf.Value": _check_json_value,
    **{f"google.protobuf.{name}": _check_by_protobuf for name in (
        "Any", "Duration", "Timestamp", "FieldMask", "DoubleValue", "FloatValue", "Int64Value", "UInt64Value",
        "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue")},
}


# ---------------------------------------------------------------------------------------------
# IR paths -> lines (composing the YAML node tree; error paths only)

_PATH_PART = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def parse_path(ir_path: str) -> list[str | int]:
    """``root.dag.tasks['a'].inputs[0]`` -> ``['root', 'dag', 'tasks', 'a', 'inputs', 0]`` (stops at junk)."""
    parts: list[str | int] = []
    position = 0
    while position < len(ir_path):
        match = _PATH_PART.match(ir_path, position)
        if match is None:
            break
        name, index, key = match.groups()
        parts.append(name if name is not None else int(index) if index is not None else
                     re.sub(r"\\(.)", r"\1", key))
        position = match.end()
    return parts


def _compose(text: str) -> list[yaml.Node]:
    try:
        return list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError:
        return []


def _document_line(text: str, index: int) -> int | None:
    nodes = _compose(text)
    node = nodes[index] if index < len(nodes) else None
    return node.start_mark.line + 1 if node is not None else None


_ENTRIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _entries(node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """A mapping node's (key node, value node) by key; a repeated key keeps the last, as YAML does."""
    entries = _ENTRIES.get(node)
    if entries is None:
        entries = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        _ENTRIES[node] = entries
    return entries


def _line_of(node: yaml.Node, parts: list[str | int]) -> int:
    """1-based line of the deepest node on ``parts`` that exists (a mapping key's own line)."""
    line = node.start_mark.line + 1
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            entry = _entries(node).get(str(part))
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
