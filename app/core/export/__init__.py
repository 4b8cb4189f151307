"""Conversations exported as Markdown (to read and share) and as JSON (to keep and re-import).

Both are built from a `StoredConversation` alone, with no Qt and no database, so they are pure
and run in a worker thread. Markdown (`to_markdown`) links its images as files in a folder
beside it (remote images by their URL); JSON (`to_json`) carries everything the history keeps,
images as `data:` URLs, and `from_json` reads it back. Files are written completely under a
temporary name before being renamed into place (`files`), so a failed export never leaves half
a file under a real name.
"""
