"""Which links in rendered text do anything: the view's own actions and web pages, nothing else.

Model output is untrusted. Its links are kept only when they point to a web page (http, https);
every other scheme (`javascript:`, `file:`, `data:`, custom handlers) is rendered as plain text.
The view's own actions (copy a code block, regenerate…) use a scheme carrying a random token,
so text that merely looks like one of them is not honoured either.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from PySide6.QtCore import QUrl

WEB_SCHEMES = frozenset({"http", "https"})


def is_web_link(href: str) -> bool:
    """True for an absolute http(s) URL with a host: the only links model text may keep."""
    url = QUrl(href)
    return url.isValid() and url.scheme().lower() in WEB_SCHEMES and bool(url.host())


@dataclass(frozen=True)
class Action:
    """An internal link: what to do (`copy-code`) and on what (`12`)."""

    name: str
    argument: str


class InternalLinks:
    """Makes and recognises the view's own action links."""

    def __init__(self) -> None:
        self.scheme = f"chatdesk-{secrets.token_hex(6)}"

    def href(self, name: str, argument: object = "") -> str:
        return f"{self.scheme}:{name}/{argument}"

    def parse(self, url: QUrl) -> Action | None:
        if url.scheme() != self.scheme:
            return None
        name, _, argument = url.path().partition("/")
        return Action(name, argument)
