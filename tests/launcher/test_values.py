"""Raw parameter values: decode by declared type, encode back (an int stays an int)."""

from __future__ import annotations

import pytest

from launcher import values


@pytest.mark.parametrize("text, kind, expected", [
    (' a "b" {{$}} \n', values.STRING, ' a "b" {{$}} \n'),
    ("3", values.INTEGER, 3),
    ("3.0", values.INTEGER, 3),
    ("42\n", values.INTEGER, 42),
    ("1.5", values.DOUBLE, 1.5),
    ("2", values.DOUBLE, 2.0),
    ("true", values.BOOLEAN, True),
    ("False", values.BOOLEAN, False),
    ("[1, \"x\"]", values.LIST, [1, "x"]),
    ('{"a": {"b": null}}', values.STRUCT, {"a": {"b": None}}),
])
def test_decode(text, kind, expected):
    value = values.decode(text, kind)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("text, kind", [("3.5", values.INTEGER), ("true", values.INTEGER), ("x", values.DOUBLE),
                                        ("1", values.BOOLEAN), ("{}", values.LIST), ("[]", values.STRUCT)])
def test_decode_rejects(text, kind):
    with pytest.raises(values.TypeMismatch, match="is not a valid"):
        values.decode(text, kind)


@pytest.mark.parametrize("value, kind, text", [
    (3, values.INTEGER, "3"), (3.0, values.INTEGER, "3"), (2.5, values.DOUBLE, "2.5"), (True, values.BOOLEAN, "true"),
    ("ü\n{{$}}", values.STRING, "ü\n{{$}}"), ({"k": [1, 2]}, values.STRUCT, '{"k":[1,2]}'), ([], values.LIST, "[]"),
])
def test_encode_round_trips(value, kind, text):
    assert values.encode(value, kind) == text
    assert values.decode(text, kind) == value


def test_wire_escaping_round_trips_and_leaves_plain_text_alone():
    from launcher import wire

    for text in ("plain", "", "{{x}}", "a{{", wire.PREFIX + "abc", "ü🙂{{=1}}\n"):
        assert wire.unescape_text(wire.escape_text(text)) == text
        assert "{{" not in wire.escape_text(text)
    assert wire.escape_text("plain $x ${y} `y` }}") == "plain $x ${y} `y` }}"
    for kubelet_rewrites in ("$(HOME)", "$(params.x)", "a$$b", "kfp-driver:absent"):
        assert wire.escape_text(kubelet_rewrites).startswith(wire.PREFIX)
    tree = {"{{k}}": ["{{v}}", 1, None, {"n": "ok"}]}
    assert wire.unescape_tree(wire.escape_tree(tree)) == tree
    assert wire.unescape_text(wire.PREFIX + "not base64!") == wire.PREFIX + "not base64!"
