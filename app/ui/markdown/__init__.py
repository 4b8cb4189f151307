"""Markdown in the chat view: cutting a stream into blocks, rendering, highlighting."""
