"""Conversations and their messages as the sidebar and the chat view see them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.core.messages import ChatMessage, Detail, ImagePart, Role
from app.core.params import ChatParams, ReasoningEffort
from app.core.store.history import ConversationNotFound, History
from app.core.store.records import MessageState
from app.core.store.titles import UNTITLED, title_from_prompt
from app.core.usage import Usage
from tests.core.store.conftest import WallClock, png_part

DAY = 24 * 3600.0


def chat(history: History, prompt: str, answer: str = "An answer.", model: str = "gpt-4o") -> int:
    conversation = history.create_conversation(model=model)
    history.add_message(conversation, ChatMessage.user(prompt))
    history.add_message(conversation, ChatMessage.assistant(answer))
    return conversation


def titles(history: History) -> list[str]:
    return [c.title for c in history.list_conversations()]


def all_text_in_rows(database: Path) -> str:
    """Every text value of every ordinary table, as one string."""
    connection = sqlite3.connect(database)
    pieces: list[str] = []
    for (table,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'message_search%'"
    ):
        for row in connection.execute(f"SELECT * FROM {table}"):
            pieces.extend(str(value) for value in row if isinstance(value, str))
    connection.close()
    return "\n".join(pieces)


# Conversations


def test_new_conversation_is_listed_untitled_with_its_model(history: History) -> None:
    """A conversation just created shows in the sidebar as "New chat" with its model."""
    conversation = history.create_conversation(model="gpt-4o-mini")
    [row] = history.list_conversations()
    assert (row.id, row.title, row.model, row.pinned) == (
        conversation,
        UNTITLED,
        "gpt-4o-mini",
        False,
    )
    assert history.conversation_count() == 1


def test_the_first_prompt_names_the_conversation(history: History) -> None:
    """The title is the first prompt's first line; later prompts do not rename it."""
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("\n  How do tides work?\nDetails please"))
    history.add_message(conversation, ChatMessage.assistant("The moon."))
    history.add_message(conversation, ChatMessage.user("And on Mars?"))
    assert titles(history) == ["How do tides work?"]


def test_a_long_first_prompt_is_cut_at_a_word(history: History) -> None:
    """A long first line becomes a title of whole words ending with an ellipsis."""
    prompt = "Please explain in detail the difference between processes and threads on Linux"
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user(prompt))
    [title] = titles(history)
    assert title == "Please explain in detail the difference between processes…"
    assert prompt.startswith(title.removesuffix("…"))


def test_an_image_only_prompt_gets_a_title_naming_the_images(history: History) -> None:
    """Two pictures sent without text give the title "2 images", not an empty one."""
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(
        conversation, ChatMessage.user("", (png_part((1, 2, 3)), png_part((4, 5, 6))))
    )
    assert titles(history) == ["2 images"]


def test_title_of_an_unbroken_long_word_is_cut_too() -> None:
    """A prompt without spaces still gives a title of bounded length."""
    title = title_from_prompt("x" * 500)
    assert title == "x" * 60 + "…"


def test_rename_sticks_and_a_blank_name_means_untitled(history: History) -> None:
    """A renamed conversation keeps its name; renaming to blanks gives "New chat" back."""
    conversation = history.create_conversation(model="gpt-4o")
    history.rename(conversation, "  Trip planning ")
    history.add_message(conversation, ChatMessage.user("Where should we go in May?"))
    assert titles(history) == ["Trip planning"]
    history.rename(conversation, "   ")
    assert titles(history) == [UNTITLED]


def test_sidebar_lists_pinned_first_then_the_most_recently_active(history: History) -> None:
    """Pinned conversations stay on top; the others follow by their latest message."""
    oldest = chat(history, "oldest")
    middle = chat(history, "middle")
    newest = chat(history, "newest")
    assert titles(history) == ["newest", "middle", "oldest"]

    history.set_pinned(oldest, True)
    history.add_message(middle, ChatMessage.user("a follow-up moves it up"))
    assert titles(history) == ["oldest", "middle", "newest"]
    assert [c.pinned for c in history.list_conversations()] == [True, False, False]

    history.set_pinned(oldest, False)
    assert titles(history) == ["middle", "newest", "oldest"]
    assert [c.id for c in history.list_conversations(limit=2, offset=1)] == [newest, oldest]


def test_delete_hides_everywhere_and_restore_brings_it_back(history: History) -> None:
    """A deleted conversation is gone from the list, the count, opening and search until undone."""
    kept = chat(history, "kept about volcanoes")
    doomed = chat(history, "doomed about volcanoes")

    history.delete(doomed)

    assert titles(history) == ["kept about volcanoes"]
    assert history.conversation_count() == 1
    assert [hit.conversation_id for hit in history.search("volcanoes")] == [kept]
    with pytest.raises(ConversationNotFound):
        history.load(doomed)
    with pytest.raises(ConversationNotFound):
        history.summary(doomed)

    history.restore(doomed)

    assert titles(history) == ["doomed about volcanoes", "kept about volcanoes"]
    assert history.load(doomed).messages[0].content == "doomed about volcanoes"
    assert {hit.conversation_id for hit in history.search("volcanoes")} == {kept, doomed}


def test_purge_removes_only_conversations_deleted_long_enough_ago(
    history: History, clock: WallClock, database: Path
) -> None:
    """Purging forgets old deletions for good, keeps recent ones restorable and live ones intact."""
    live = chat(history, "live chat")
    old = chat(history, "deleted last month")
    history.delete(old)
    clock.advance(30 * DAY)
    recent = chat(history, "deleted a minute ago")
    history.delete(recent)

    assert history.purge_deleted(older_than_s=7 * DAY) == 1

    history.restore(old)
    history.restore(recent)
    assert titles(history) == ["deleted a minute ago", "live chat"]
    assert history.load(live).messages[1].content == "An answer."
    connection = sqlite3.connect(database)
    assert connection.execute(
        "SELECT count(*) FROM messages WHERE conversation_id = ?", (old,)
    ).fetchone() == (0,)


def test_purge_removes_image_files_no_longer_used_but_keeps_shared_ones(
    history: History, clock: WallClock
) -> None:
    """An image only in a purged conversation is deleted; one also sent elsewhere stays."""
    shared, only_doomed = png_part((200, 0, 0)), png_part((0, 200, 0))
    kept = history.create_conversation(model="gpt-4o")
    history.add_message(kept, ChatMessage.user("what colour?", (shared,)))
    doomed = history.create_conversation(model="gpt-4o")
    history.add_message(doomed, ChatMessage.user("and these?", (shared, only_doomed)))
    assert len(list(history.images.directory.iterdir())) == 2

    history.delete(doomed)
    clock.advance(8 * DAY)
    history.purge_deleted()

    assert len(list(history.images.directory.iterdir())) == 1
    assert history.load(kept).messages[0].images == (shared,)


# Messages


def test_messages_come_back_in_order_with_how_each_ended(history: History) -> None:
    """Every field of a reply, including usage, choices and notes, survives a reload."""
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("Name a colour"))
    reply = history.begin_reply(conversation, model="gpt-4o")
    history.finish_reply(
        reply,
        "Blue",
        state=MessageState.STOPPED,
        note="Stopped by you.",
        model="gpt-4o-2024-08-06",
        finish_reason="length",
        choices=("Blue", "Green"),
        logprobs={"content": [{"token": "Blue", "logprob": -0.1}]},
        usage=Usage(12, 2, cached_tokens=0, reasoning_tokens=0),
    )

    loaded = history.load(conversation)

    user, answer = loaded.messages
    assert (user.role, user.content, user.position) == (Role.USER, "Name a colour", 0)
    assert (answer.role, answer.content, answer.position) == (Role.ASSISTANT, "Blue", 1)
    assert answer.state is MessageState.STOPPED and answer.note == "Stopped by you."
    assert answer.model == "gpt-4o-2024-08-06" and answer.finish_reason == "length"
    assert answer.choices == ("Blue", "Green")
    assert answer.logprobs == {"content": [{"token": "Blue", "logprob": -0.1}]}
    assert answer.usage == Usage(12, 2)
    assert answer.as_chat_message() == ChatMessage.assistant("Blue")


def test_conversation_settings_survive_a_restart(history: History, database: Path) -> None:
    """Model, system prompt and every parameter set are there when the history is reopened."""
    params = ChatParams(
        temperature=0.3,
        max_output_tokens=500,
        stop=("END", "###"),
        json_mode=True,
        reasoning_effort=ReasoningEffort.HIGH,
        seed=42,
    )
    conversation = history.create_conversation(model="gpt-4o", system_prompt="Be terse")
    history.update_settings(conversation, model="o3-mini", system_prompt="Be kind", params=params)
    history.close()

    reopened = History.open(database).load(conversation)

    assert (reopened.model, reopened.system_prompt, reopened.params) == (
        "o3-mini",
        "Be kind",
        params,
    )


def test_images_are_stored_once_as_files_and_come_back_identical(
    history: History, database: Path
) -> None:
    """Pasted images live as files beside the database, once each; rows hold no base64."""
    photo, chart = png_part((10, 120, 200)), png_part((250, 250, 0), size=(30, 20))
    remote = ImagePart(
        "https://example.com/cat.jpg", Detail.HIGH, source="https://example.com/cat.jpg"
    )
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("compare", (photo, remote, chart)))
    history.add_message(conversation, ChatMessage.assistant("They differ."))
    history.add_message(conversation, ChatMessage.user("the first one again", (photo,)))

    files = sorted(p.name for p in (database.parent / "images").iterdir())
    assert len(files) == 2 and all(name.endswith(".png") for name in files)
    rows = all_text_in_rows(database)
    assert "base64" not in rows
    assert photo.url.split(",", 1)[1][:40] not in rows
    assert "https://example.com/cat.jpg" in rows

    first, _, again = history.load(conversation).messages
    assert first.images == (photo, remote, chart)
    assert again.images == (photo,)


def test_a_message_whose_image_file_was_removed_still_opens(history: History) -> None:
    """Deleting an image file by hand loses that picture, not the conversation."""
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("look", (png_part((1, 1, 1)),)))
    for path in history.images.directory.iterdir():
        path.unlink()

    [message] = history.load(conversation).messages

    assert message.content == "look" and message.images == ()


def test_a_malformed_image_url_is_refused_and_nothing_is_half_saved(history: History) -> None:
    """A broken data URL raises ValueError and leaves the conversation without the message."""
    conversation = history.create_conversation(model="gpt-4o")
    broken = ImagePart("data:image/png;base64,@@not base64@@")
    with pytest.raises(ValueError):
        history.add_message(conversation, ChatMessage.user("see", (broken,)))
    assert history.load(conversation).messages == ()


def test_editing_an_earlier_prompt_drops_it_and_everything_after(history: History) -> None:
    """Removing from a position (edit or regenerate) keeps only the messages before it."""
    conversation = history.create_conversation(model="gpt-4o")
    for text in ("q1", "a1", "q2", "a2"):
        role = Role.USER if text.startswith("q") else Role.ASSISTANT
        history.add_message(conversation, ChatMessage(role, text))

    history.remove_messages_from(conversation, 2)
    history.add_message(conversation, ChatMessage.user("q2 edited"))

    loaded = history.load(conversation).messages
    assert [(m.position, m.content) for m in loaded] == [(0, "q1"), (1, "a1"), (2, "q2 edited")]


def test_a_message_for_a_missing_conversation_is_refused(history: History) -> None:
    """Writing into a conversation that does not exist raises ConversationNotFound."""
    with pytest.raises(ConversationNotFound):
        history.add_message(9999, ChatMessage.user("hello?"))
    with pytest.raises(ConversationNotFound):
        history.begin_reply(9999, model="gpt-4o")


def test_replies_left_streaming_by_a_crash_are_marked_interrupted(
    history: History, database: Path
) -> None:
    """At the next start a reply cut off by a crash shows as interrupted with its text kept."""
    conversation = history.create_conversation(model="gpt-4o")
    history.add_message(conversation, ChatMessage.user("tell me a story"))
    finished = history.begin_reply(conversation, model="gpt-4o")
    history.finish_reply(finished, "The end.")
    cut = history.begin_reply(conversation, model="gpt-4o")
    history.save_partial(cut, "Once upon a")
    history.close()  # the process dies here: nothing marks the reply as ended

    restarted = History.open(database)
    assert len(restarted.recover_interrupted()) == 1
    assert len(restarted.recover_interrupted()) == 0

    messages = {m.id: m for m in restarted.load(conversation).messages}
    assert messages[cut].state is MessageState.INTERRUPTED
    assert messages[cut].content == "Once upon a" and "Interrupted" in messages[cut].note
    assert messages[finished].state is MessageState.COMPLETE and messages[finished].note == ""
