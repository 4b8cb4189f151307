"""Exporting a conversation: Markdown to read and share, JSON that reads back as it was."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from app.core.catalog import lookup
from app.core.export.files import ExportFailed, export_file_name, image_folder
from app.core.export.from_json import NotAnExport, read_conversation_json
from app.core.export.to_json import FORMAT_VERSION, conversation_json, write_json_export
from app.core.export.to_markdown import conversation_markdown, write_markdown_export
from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import StoredConversation
from app.core.usage import cost, format_usd
from tests.support.conversations import (
    REMOTE_IMAGE,
    open_history,
    png_bytes,
    rich_conversation,
)


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    store = open_history(tmp_path / "data")
    yield store
    store.close()


@pytest.fixture
def conversation(history: History) -> StoredConversation:
    return rich_conversation(history)


def as_exported(conversation: StoredConversation) -> StoredConversation:
    """What an export keeps: no database ids, and image sources without their folders."""
    return dataclasses.replace(
        conversation,
        id=0,
        messages=tuple(
            dataclasses.replace(
                message,
                id=0,
                images=tuple(
                    dataclasses.replace(image, source=image.source.rsplit("/", 1)[-1])
                    if not image.is_remote
                    else image
                    for image in message.images
                ),
            )
            for message in conversation.messages
        ),
    )


# JSON


def test_json_export_reads_back_as_the_same_conversation(
    conversation: StoredConversation, tmp_path: Path
) -> None:
    """A JSON export written to disk is valid JSON and re-imports with every message intact."""
    target = tmp_path / "exports" / "chat.json"
    write_json_export(conversation, target)

    text = target.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["version"] == FORMAT_VERSION
    assert read_conversation_json(text) == as_exported(conversation)


def test_json_export_carries_usage_images_parameters_and_states(
    conversation: StoredConversation,
) -> None:
    """Everything a user kept is in the file: params, usage with cost, images, how replies ended."""
    document = json.loads(conversation_json(conversation))
    assert document["model"] == "gpt-4o-mini"
    assert document["system_prompt"] == "You are terse."
    assert document["params"] == {
        "temperature": 0.4,
        "max_output_tokens": 300,
        "stop": ["END"],
        "logprobs": True,
    }
    first_question, first_answer, _, stopped, _, failed = document["messages"]
    local, remote = first_question["images"]
    assert local["url"].startswith("data:image/png;base64,")
    assert (local["detail"], local["width"], local["height"]) == ("low", 8, 6)
    assert (remote["url"], remote["detail"]) == (REMOTE_IMAGE, "high")
    assert first_answer["usage"]["prompt_tokens"] == 1_200
    assert first_answer["usage"]["cached_tokens"] == 1_024
    assert first_answer["choices"] == ["A red square and a harbour.", "A harbour and a red square."]
    assert first_answer["logprobs"]["content"][0]["token"] == "A"
    assert first_answer["created_at"] == "2023-11-14T22:13:20.750000+00:00"
    assert (stopped["state"], stopped["note"]) == ("stopped", "Stopped.")
    assert failed["state"] == "failed"


def test_json_export_does_not_reveal_where_images_came_from(
    conversation: StoredConversation,
) -> None:
    """Only an image's file name is exported, never the folder (and user name) it was in."""
    text = conversation_json(conversation)
    assert "/home/alice" not in text
    assert '"source": "red square.png"' in text


def test_json_of_an_empty_conversation_reads_back(history: History) -> None:
    """A conversation with no messages yet exports and re-imports too."""
    conversation = history.load(history.create_conversation(model="o1"))
    assert read_conversation_json(conversation_json(conversation)) == as_exported(conversation)


@pytest.mark.parametrize(
    ("text", "headline"),
    [
        ("# Notes\nnot json at all", "This file is not a Chatdesk conversation"),
        ('{"messages": []}', "This file is not a Chatdesk conversation"),
        ("[1, 2, 3]", "This file is not a Chatdesk conversation"),
        (
            '{"format": "chatdesk-conversation", "version": 99, "messages": []}',
            "This conversation was exported by a newer Chatdesk",
        ),
    ],
)
def test_other_files_are_refused_with_a_clear_message(text: str, headline: str) -> None:
    """Importing a file that is not a Chatdesk export says so instead of half-loading it."""
    with pytest.raises(NotAnExport) as refused:
        read_conversation_json(text)
    assert refused.value.headline == headline
    assert refused.value.remedy


def test_a_damaged_export_names_the_broken_field(conversation: StoredConversation) -> None:
    """A hand-edited export with a bad value is refused, pointing at the value to fix."""
    document = json.loads(conversation_json(conversation))
    document["messages"][1]["role"] = "robot"
    with pytest.raises(NotAnExport) as refused:
        read_conversation_json(json.dumps(document))
    assert refused.value.headline == "This conversation file is damaged"
    assert "messages[1].role" in refused.value.remedy
    assert "'robot'" in refused.value.remedy

    document = json.loads(conversation_json(conversation))
    document["messages"][0]["images"][0]["url"] = "data:image/png;base64,%%%"
    with pytest.raises(NotAnExport) as refused:
        read_conversation_json(json.dumps(document))
    assert "messages[0].images[0].url" in refused.value.remedy


# Markdown


def test_markdown_shows_title_model_parameters_and_system_prompt(
    conversation: StoredConversation,
) -> None:
    """The top of the Markdown says what the conversation was and how it was set up."""
    text = conversation_markdown(conversation, "images").text
    assert text.startswith("# What is in these pictures?\n")
    assert "- Model: `gpt-4o-mini`" in text
    assert "`temperature=0.4`" in text
    assert '`stop=["END"]`' in text
    assert "## System prompt\n\nYou are terse.\n" in text


def test_markdown_has_each_message_under_its_role_with_how_it_ended(
    conversation: StoredConversation,
) -> None:
    """Messages appear in order under You/Assistant headings; stopped and failed replies say so."""
    text = conversation_markdown(conversation, "images").text
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == ["System prompt", *["You", "Assistant"] * 3]
    assert "Yes, the same red\n\n> **Stopped.**" in text
    assert "It is\n\n> **Failed.** Cut off: The connection to the server was lost." in text
    assert "### Choice 2 of 2\n\nA harbour and a red square." in text


def test_markdown_shows_usage_and_cost_of_each_reply(conversation: StoredConversation) -> None:
    """Each reply carries its tokens and what it cost at the model's price."""
    text = conversation_markdown(conversation, "images").text
    first = conversation.messages[1]
    assert first.usage is not None
    price = cost(first.usage, lookup("gpt-4o-mini"))
    assert price is not None
    expected = f"1,200 in (1,024 cached) · 40 out · {format_usd(price.total)}"
    assert f"*gpt-4o-mini-2024-07-18 · {expected}*" in text
    assert "900 in · 5 out · " in text and "(estimated)*" in text


def test_markdown_export_writes_linked_images_beside_it(
    conversation: StoredConversation, tmp_path: Path
) -> None:
    """Every image link in the written Markdown opens a file with the picture that was sent."""
    target = tmp_path / "out" / "Trip plans.md"
    written = write_markdown_export(conversation, target)

    text = target.read_text(encoding="utf-8")
    local_links = [
        unquote(link)
        for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        if not link.startswith("https://")
    ]
    # The same picture sent twice is one file, linked twice.
    assert len(local_links) == 2 and len(set(local_links)) == 1
    picture = target.parent / local_links[0]
    assert picture.parent == image_folder(target)
    assert picture.read_bytes() == png_bytes((200, 30, 30))
    assert set(written) == {target, picture}
    assert f"]({REMOTE_IMAGE})" in text
    assert not list(target.parent.glob(".*.tmp")) and not list(picture.parent.glob(".*.tmp"))


def test_markdown_without_local_images_creates_no_folder(history: History, tmp_path: Path) -> None:
    """A text-only conversation exports to one file and no empty image folder."""
    conversation_id = history.create_conversation(model="gpt-4o")
    history.add_message(conversation_id, ChatMessage.user("Hello"))
    target = tmp_path / "hello.md"
    assert write_markdown_export(history.load(conversation_id), target) == [target]
    assert not image_folder(target).exists()


def test_an_unwritable_destination_fails_with_a_clear_message(
    conversation: StoredConversation, tmp_path: Path
) -> None:
    """Exporting into a folder that cannot exist says which file could not be written."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ExportFailed) as failed:
        write_json_export(conversation, blocker / "chat.json")
    assert failed.value.headline == "Could not write chat.json"
    assert failed.value.remedy


def test_an_export_replaces_an_older_one_whole(
    conversation: StoredConversation, tmp_path: Path
) -> None:
    """Exporting over an earlier export leaves exactly the new content, no leftovers."""
    target = tmp_path / "exports" / "chat.json"
    target.parent.mkdir()
    target.write_text("x" * 100_000)
    write_json_export(conversation, target)
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == conversation.title
    assert [p.name for p in target.parent.iterdir()] == ["chat.json"]


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("Trip plans", "Trip plans.md"),
        ('What is "a/b" <c>?', "What is a b c.md"),
        ("   ", "Conversation.md"),
        ("CON", "Conversation.md"),
        ("x" * 200, "x" * 80 + ".md"),
    ],
)
def test_default_file_names_are_safe_everywhere(title: str, name: str) -> None:
    """The suggested file name comes from the title, minus what file systems refuse."""
    assert export_file_name(title, "md") == name


def test_local_images_in_json_are_the_exact_bytes(conversation: StoredConversation) -> None:
    """An image in the JSON export decodes to the very bytes that were sent."""
    document = json.loads(conversation_json(conversation))
    url = document["messages"][0]["images"][0]["url"]
    assert base64.b64decode(url.partition(",")[2]) == png_bytes((200, 30, 30))


def test_json_export_keeps_each_replys_fingerprint_and_seed(
    conversation: StoredConversation,
) -> None:
    """What a reply needs to be reproduced (its backend build and seed) is in the export."""
    document = json.loads(conversation_json(conversation))
    reply = document["messages"][1]
    assert (reply["system_fingerprint"], reply["seed"]) == ("fp_44709d6fcb", 42)
    assert read_conversation_json(conversation_json(conversation)).messages[1].seed == 42
