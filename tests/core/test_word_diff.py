"""The word diff shown after a re-run: what a second answer dropped and added, in words."""

from __future__ import annotations

from app.core.word_diff import Change, Segment, diff_words, tokens


def test_identical_answers_are_reported_as_identical() -> None:
    """The same text gives one unchanged segment and says so plainly."""
    diff = diff_words("The sky is blue.", "The sky is blue.")
    assert diff.identical
    assert diff.segments == (Segment(Change.SAME, "The sky is blue."),)
    assert diff.summary() == "Identical: the same answer, word for word."


def test_a_replaced_word_shows_as_removed_then_added() -> None:
    """Swapping one word marks exactly that word, with the rest unchanged around it."""
    diff = diff_words("The sky is blue today.", "The sky is grey today.")
    assert [(s.change, s.text) for s in diff.segments] == [
        (Change.SAME, "The sky is "),
        (Change.REMOVED, "blue "),
        (Change.ADDED, "grey "),
        (Change.SAME, "today."),
    ]
    assert (diff.removed_words, diff.added_words) == (1, 1)
    assert diff.summary() == "Changed: 1 word removed, 1 word added (5 words in the new answer)."


def test_insertions_and_deletions_are_counted_in_words() -> None:
    """Words only in the new answer are added; words only in the old one are removed."""
    diff = diff_words("one two three four", "one three four five six")
    assert diff.removed_words == 1
    assert diff.added_words == 2
    assert not diff.identical and not diff.same_words


def test_reflowed_text_is_the_same_words_but_not_identical() -> None:
    """A line break where a space was is not a changed word, and the summary says what it is."""
    diff = diff_words("alpha beta gamma", "alpha beta\ngamma")
    assert not diff.identical
    assert diff.same_words
    assert "spacing" in diff.summary()


def test_the_new_answer_can_be_read_back_from_its_segments() -> None:
    """Unchanged and added segments together spell the new answer; removed ones the old."""
    before = "Here is a simulated reply. It has **bold** words\n\nand lines."
    after = "Good question. It has **bold** text\n\nand more lines."
    diff = diff_words(before, after)
    assert "".join(s.text for s in diff.segments if s.change is not Change.REMOVED) == after
    old = "".join(s.text for s in diff.segments if s.change is not Change.ADDED)
    assert old.split() == before.split()


def test_tokens_keep_their_whitespace() -> None:
    """Cutting into words loses nothing: the tokens join back into the text."""
    text = "  leading space, two  spaces\nand a line"
    assert "".join(tokens(text)) == text
