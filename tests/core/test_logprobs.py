"""Token logprobs turned into what the heat-map shows: text, probabilities, alternatives."""

from __future__ import annotations

import math

from app.core.logprobs import (
    CellBuilder,
    cells,
    percent,
    probability,
    shown_token,
    summarize,
    untokenized_prefix,
)


def entry(token: str, logprob: float, top: list[list[object]] | None = None) -> dict[str, object]:
    return {"token": token, "logprob": logprob, "top": top or []}


def test_probabilities_stay_between_zero_and_one() -> None:
    """A logprob rounded above 0, the API's -9999 and NaN still give a probability in range."""
    assert probability(0.0) == 1.0
    assert probability(1e-9) == 1.0
    assert probability(-9999.0) == 0.0
    assert probability(float("nan")) == 0.0
    assert math.isclose(probability(math.log(0.25)), 0.25)


def test_percentages_never_round_to_a_misleading_certainty() -> None:
    """A near-certain token reads ">99.9%", a hopeless one "<0.1%", not 100% or 0%."""
    assert percent(1.0) == "100%"
    assert percent(0.99999) == ">99.9%"
    assert percent(0.8734) == "87.3%"
    assert percent(0.0001) == "<0.1%"


def test_whitespace_in_a_token_is_made_visible() -> None:
    """Spaces, line breaks and tabs show as symbols, and escaped bytes as their escapes."""
    assert shown_token(" the") == "␣the"
    assert shown_token("\n\n") == "↵↵"
    assert shown_token("\tx") == "⇥x"
    assert shown_token("bytes:\\xe2\\x80") == "\\xe2\\x80"
    assert shown_token("a\x00") == "a\\x00"


def test_cells_carry_each_token_and_its_alternatives_most_likely_first() -> None:
    """Each entry becomes a cell with its alternatives sorted by probability."""
    [cell] = cells([entry(" sky", -0.2, [[" sea", -3.0], [" sky", -0.2], [" air", -1.5]])])
    assert (cell.text, cell.logprob, cell.tokens) == (" sky", -0.2, 1)
    assert [a.token for a in cell.alternatives] == [" sky", " air", " sea"]
    assert math.isclose(cell.alternatives[1].probability, math.exp(-1.5))


def test_a_character_split_into_byte_tokens_becomes_one_cell() -> None:
    """Byte tokens of one character merge into a cell showing it, with their summed logprob."""
    shown = cells(
        [
            entry("An", -0.1),
            entry("bytes:\\xe2\\x80", -0.5, [["bytes:\\xe2\\x80", -0.5], ["-", -1.2]]),
            entry("bytes:\\x94", -0.25),
            entry(" dash", -0.3),
        ]
    )
    assert [cell.text for cell in shown] == ["An", "—", " dash"]
    dash = shown[1]
    assert dash.tokens == 2 and math.isclose(dash.logprob, -0.75)
    assert [a.token for a in dash.alternatives] == ["bytes:\\xe2\\x80", "-"]


def test_a_split_character_waits_for_its_last_byte_while_streaming() -> None:
    """Fed in pieces, a character split across batches is shown once it is complete."""
    builder = CellBuilder()
    assert [c.text for c in builder.feed([entry("A", -0.1), entry("\\xf0\\x9f", -0.2)])] == ["A"]
    assert builder.feed([entry("\\x90", -0.2)]) == []
    assert [c.text for c in builder.feed([entry("\\xa6", -0.2), entry("!", -0.1)])] == ["🐦", "!"]
    assert builder.finish() == []


def test_an_answer_ending_inside_a_character_still_shows_its_bytes() -> None:
    """A byte run the stream never completed is shown as a replacement character."""
    builder = CellBuilder()
    assert builder.feed([entry("bytes:\\xe2", -0.4)]) == []
    [cell] = builder.finish()
    assert cell.text == "\ufffd" and cell.tokens == 1


def test_malformed_entries_are_skipped() -> None:
    """Stored logprobs that do not have the expected shape are left out, not fatal."""
    shown = cells([None, {"token": 3, "logprob": -1}, {"token": "ok"}, entry("fine", -0.5), "x"])
    assert [cell.text for cell in shown] == ["fine"]
    [cell] = cells([{"token": "a", "logprob": -0.1, "top": [["b"], ["c", "x"], ["d", -2]]}])
    assert [a.token for a in cell.alternatives] == ["d"]


def test_the_start_of_a_continued_reply_has_no_tokens() -> None:
    """Cells covering only the end of the text leave its start to be shown untinted."""
    shown = cells([entry(" and", -0.1), entry(" more", -0.2)])
    assert untokenized_prefix("Partly written and more", shown) == "Partly written"
    assert untokenized_prefix(" and more", shown) == ""
    assert untokenized_prefix("something else", shown) == ""


def test_a_summary_counts_tokens_and_finds_the_least_likely() -> None:
    """The summary gives the token count, mean probability, how many fell below 50%."""
    shown = cells([entry("a", math.log(0.9)), entry("b", math.log(0.3)), entry("c", math.log(0.6))])
    summary = summarize(shown)
    assert summary.tokens == 3 and summary.below_half == 1
    assert math.isclose(summary.mean_probability, 0.6)
    assert summary.least_likely is not None and summary.least_likely.text == "b"
    assert summarize(shown[:1]).extended(shown[1:]) == summary
