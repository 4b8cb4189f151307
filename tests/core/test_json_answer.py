"""JSON-mode answers checked: valid or not, why not and where, and what can be salvaged."""

from __future__ import annotations

import json

import pytest

from app.core.json_answer import check, count_label, dumps, kind, preview, salvage


def test_a_valid_answer_gives_its_value() -> None:
    """Valid JSON is parsed whole, with no problem."""
    answer = check('{"a": [1, 2], "b": null}', "stop")
    assert answer.valid and answer.value == {"a": [1, 2], "b": None}
    assert answer.problem is None and answer.has_value


@pytest.mark.parametrize(
    ("finish", "reason"),
    [
        ("length", "Cut off by the token limit"),
        ("content_filter", "Cut off by the content filter"),
        ("", "The JSON ends before it is complete"),
    ],
)
def test_an_answer_that_stops_early_says_why(finish: str, reason: str) -> None:
    """A truncated document is blamed on how the reply ended, at the point where it stops."""
    text = '{"name": "heron",\n "legs": 2,\n "note": "tall and'
    answer = check(text, finish)
    assert not answer.valid and answer.problem is not None
    assert answer.problem.truncated
    assert answer.problem.reason == reason
    assert (answer.problem.line, answer.problem.column) == (3, 19)
    assert answer.problem.headline == f"{reason} (line 3, column 19)"


@pytest.mark.parametrize(
    "text",
    ['{"a": tru', '{"a": 12', '{"a": 1,', '{"a": "x\\u00', '{"a": "x\\', "[1, 2", '{"key"'],
)
def test_every_way_of_stopping_mid_document_counts_as_cut_off(text: str) -> None:
    """Inside a literal, a number, an escape or after a comma: still just cut off."""
    answer = check(text, "length")
    assert answer.problem is not None and answer.problem.truncated


def test_a_fault_inside_the_document_is_reported_where_it_is() -> None:
    """JSON broken mid-way names the decoder's complaint and its line and column."""
    answer = check('{"a": 1,\n "b" 2}', "length")
    assert answer.problem is not None and not answer.problem.truncated
    assert answer.problem.reason == "Not valid JSON: expecting ':' delimiter"
    assert (answer.problem.line, answer.problem.column) == (2, 6)
    assert answer.value is None
    trailing = check('{"a": 1} trailing').problem
    assert trailing is not None and trailing.reason == "Not valid JSON: extra data"


def test_an_empty_answer_is_not_json() -> None:
    """An empty reply is reported as such."""
    answer = check("  \n", "length")
    assert not answer.valid and answer.problem is not None
    assert answer.problem.reason == "The answer is empty"


@pytest.mark.parametrize(
    ("text", "salvaged"),
    [
        ('{"a": 1, "b": [1, 2, {"c": "hel', {"a": 1, "b": [1, 2, {"c": "hel"}]}),
        ('{"a": {"b": "c\\', {"a": {"b": "c"}}),
        ('{"a": 1, "b": tru', {"a": 1}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"unfinished key', {}),
        ('[{"x": 1}, {"y"', [{"x": 1}, {}]),
    ],
)
def test_what_arrived_of_a_cut_off_document_is_salvaged(text: str, salvaged: object) -> None:
    """The part that arrived is closed off at its last complete value."""
    assert salvage(text) == salvaged
    assert check(text, "length").value == salvaged


def test_nothing_is_salvaged_before_the_first_container() -> None:
    """Text that never opened an object or array has nothing to show."""
    assert salvage("   ") is None
    assert salvage("hello") is None


def test_previews_fit_on_a_line() -> None:
    """Scalars preview as JSON, containers by their size, long strings shortened."""
    assert preview({"a": 1, "b": 2}) == "{2 keys}"
    assert preview([1]) == "[1 item]"
    assert preview("é") == '"é"'
    assert preview(None) == "null" and preview(True) == "true"
    long = preview("x" * 500)
    assert len(long) == 120 and long.endswith("…")
    assert count_label({}) == "0 keys"
    assert [kind(v) for v in ({}, [], True, None, 1.5, "s")] == [
        "object",
        "array",
        "boolean",
        "null",
        "number",
        "string",
    ]
    assert json.loads(dumps({"a": [1]})) == {"a": [1]}
