"""Searching the history as a user types into the search box."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.messages import ChatMessage, Role
from app.core.store.history import History
from app.core.store.records import HIT_END, HIT_START, MessageState
from app.core.store.search_query import fts_query


def conversation_with(history: History, *texts: str) -> int:
    conversation = history.create_conversation(model="gpt-4o")
    for index, text in enumerate(texts):
        history.add_message(
            conversation, ChatMessage(Role.USER if index % 2 == 0 else Role.ASSISTANT, text)
        )
    return conversation


def found(history: History, text: str) -> list[str]:
    """The plain text of each hit's snippet, in result order."""
    return [hit.snippet.replace(HIT_START, "").replace(HIT_END, "") for hit in history.search(text)]


def index_is_consistent(database: Path) -> bool:
    connection = sqlite3.connect(database)
    try:
        connection.execute("INSERT INTO message_search(message_search) VALUES ('integrity-check')")
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()
    return True


def test_the_word_being_typed_matches_as_a_prefix(history: History) -> None:
    """Typing "tele" already finds the message about telescopes."""
    conversation_with(history, "Which telescope should I buy?", "A small refractor.")
    assert found(history, "tele") == ["Which telescope should I buy?"]
    assert found(history, "refract") == ["A small refractor."]


def test_one_or_two_letters_match_whole_words_until_a_third_is_typed(history: History) -> None:
    """ "a" finds the word "a", not every word starting with it; "app" finds "apple"."""
    conversation_with(history, "an apple a day", "apples and pears")
    assert found(history, "a") == ["an apple a day"]
    assert found(history, "ap") == []
    assert found(history, "app") == ["apples and pears", "an apple a day"]


def test_only_the_last_word_is_a_prefix(history: History) -> None:
    """Earlier words are whole words: "tele scope" does not match "telescope"."""
    conversation_with(history, "Which telescope should I buy?")
    assert found(history, "tele should") == []
    assert found(history, "telescope should") == ["Which telescope should I buy?"]


def test_every_word_is_required_in_any_order(history: History) -> None:
    """ "rust async" finds only messages with both words, wherever they are."""
    conversation_with(
        history,
        "async functions in Rust need an executor",
        "Rust has ownership",
        "Python async and await",
    )
    assert found(history, "rust async") == ["async functions in Rust need an executor"]


def test_search_ignores_case_and_accents(history: History) -> None:
    """ "CAFE" finds "café": people rarely type the accents they search for."""
    conversation_with(history, "The best café in Lisbon")
    assert found(history, "CAFE") == ["The best café in Lisbon"]


def test_operators_and_quotes_typed_by_a_user_are_plain_words(history: History) -> None:
    """Typing FTS syntax (quotes, AND, NEAR, -, *, parentheses, colons) never raises."""
    conversation_with(history, 'She said "NEAR the end" and then left: content-type AND more')
    for typed in (
        '"',
        '"NEAR',
        "NEAR(",
        "the end AND",
        "-left",
        "*",
        "content:type",
        "OR",
        "(she) said^",
        "NOT NOT",
        "'",
    ):
        history.search(typed)
    assert found(history, '"near the end"') == [
        'She said "NEAR the end" and then left: content-type AND more'
    ]
    assert found(history, "and more") != []


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_typed_text_makes_a_bad_query(text: str) -> None:
    """Whatever a user types is a valid search (checked against SQLite's FTS5 parser)."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(content)")
    connection.execute("INSERT INTO t VALUES ('some text')")
    query = fts_query(text)
    if query:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (query,)).fetchall()


def test_results_are_newest_first(history: History) -> None:
    """The most recent message mentioning the word comes first."""
    conversation_with(history, "first note on kiwis")
    later = conversation_with(history, "second note on kiwis")
    conversation_with(history, "third note on kiwis")
    history.add_message(later, ChatMessage.user("fourth note on kiwis"))
    assert found(history, "kiwis") == [
        "fourth note on kiwis",
        "third note on kiwis",
        "second note on kiwis",
        "first note on kiwis",
    ]


def test_hits_name_their_conversation_and_message(history: History) -> None:
    """Each result says which conversation and which message to open and scroll to."""
    conversation = conversation_with(history, "How do volcanoes form?", "Magma rises.")
    [hit] = history.search("magma")
    assert hit.conversation_id == conversation
    assert hit.conversation_title == "How do volcanoes form?"
    assert (hit.position, hit.role) == (1, Role.ASSISTANT)
    assert hit.message_id == history.load(conversation).messages[1].id


def test_snippets_mark_each_hit(history: History) -> None:
    """The matched words are wrapped in HIT_START/HIT_END so the UI can highlight them."""
    conversation_with(history, "Bake the bread at 220 degrees until the crust is golden")
    [hit] = history.search("crust gold")
    assert f"{HIT_START}crust{HIT_END}" in hit.snippet
    assert f"{HIT_START}golden{HIT_END}" in hit.snippet
    assert hit.snippet.count(HIT_START) == hit.snippet.count(HIT_END) == 2


def test_snippets_of_long_messages_are_short_and_around_the_hit(history: History) -> None:
    """A hit deep in a long reply shows a short excerpt around it, not the whole message."""
    long_reply = " ".join(["filler"] * 500) + " the hidden treasure " + " ".join(["more"] * 500)
    conversation_with(history, "tell me a long story", long_reply)
    [hit] = history.search("treasure")
    assert f"{HIT_START}treasure{HIT_END}" in hit.snippet
    assert len(hit.snippet) < 200 and "…" in hit.snippet


def test_search_follows_a_reply_as_it_streams_and_ends(history: History, database: Path) -> None:
    """Text saved while streaming is searchable at once, and the final text replaces it."""
    conversation = conversation_with(history, "describe the ocean")
    reply = history.begin_reply(conversation, model="gpt-4o")
    history.save_partial(reply, "Waves and")
    assert found(history, "waves") == ["Waves and"]

    history.save_partial(reply, "Waves and tides shape")
    assert found(history, "tides") == ["Waves and tides shape"]

    history.finish_reply(reply, "Currents carry heat.", state=MessageState.COMPLETE)
    assert found(history, "waves") == []
    assert found(history, "currents heat") == ["Currents carry heat."]
    assert index_is_consistent(database)


def test_removed_and_purged_messages_are_not_found(history: History, database: Path) -> None:
    """Messages cut by an edit, and purged conversations, vanish from search and the index."""
    edited = conversation_with(history, "apples first", "apples answer", "apples again")
    purged = conversation_with(history, "apples in a purged chat")

    history.remove_messages_from(edited, 1)
    history.delete(purged)
    history.purge_deleted(older_than_s=0)

    assert found(history, "apples") == ["apples first"]
    assert index_is_consistent(database)
    connection = sqlite3.connect(database)
    indexed = connection.execute(
        "SELECT count(*) FROM message_search WHERE message_search MATCH 'apples'"
    ).fetchone()[0]
    assert indexed == 1


def test_blank_or_punctuation_only_search_finds_nothing(history: History) -> None:
    """An empty box, spaces or lone symbols show no results rather than everything."""
    conversation_with(history, "anything at all")
    assert history.search("") == [] and history.search("   ") == [] and history.search("?!") == []


def test_results_are_limited(history: History) -> None:
    """A very common word returns at most `limit` hits, the newest ones."""
    conversation = conversation_with(history, "note 0")
    for index in range(1, 30):
        history.add_message(conversation, ChatMessage.user(f"note {index}"))
    hits = history.search("note", limit=5)
    assert [hit.position for hit in hits] == [29, 28, 27, 26, 25]
