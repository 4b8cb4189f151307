"""Chatdesk: a desktop assistant for the OpenAI Chat Completions API."""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("chatdesk")
except _metadata.PackageNotFoundError:  # running from a source tree or a frozen bundle
    from app.core.version import source_version as _source_version

    __version__ = _source_version()
