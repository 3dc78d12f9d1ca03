"""What an admin action tells the person who ran it.

Every action counts what it did, what it skipped and what failed, each with
its reason, and reports them through ``ActionReport.send``: successes in
green, skips as warnings, failures as errors, and "0 done" never in green.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

# Item names quoted per reason: the message stays readable for a big selection.
SHOWN = 10


class ActionReport:
    """Collects one action's results, then sends them as admin messages.

    ``done`` is the sentence for what worked, with ``%(count)d``: a lazy
    ``ngettext_lazy(singular, plural, "count")``, so the count picks the plural
    form in the reader's language when the message is sent, e.g.
    ``ngettext_lazy("%(count)d letter approved.", "%(count)d letters approved.",
    "count")``. Items are named in the messages (ids, addresses); ``count``
    records many unnamed ones at once.
    """

    def __init__(self, done: Any) -> None:
        # Kept lazy: the text is translated when sent, in the request's language.
        self.done_text = done
        self.done = 0
        self.skipped: dict[str, list] = {}
        self.failed: dict[str, list] = {}

    def ok(self, item: object = None, *, count: int = 1) -> None:
        self.done += count

    def skip(self, item: object, reason: str, *, count: int = 1) -> None:
        _add(self.skipped, item, reason, count)

    def fail(self, item: object, reason: str, *, count: int = 1) -> None:
        _add(self.failed, item, reason, count)

    def messages(self) -> list[tuple[int, str]]:
        """(level, text) pairs, in the order they are shown."""
        if self.done or not (self.skipped or self.failed):
            level = messages.SUCCESS if self.done else messages.WARNING
        else:
            level = messages.ERROR if self.failed and not self.skipped else messages.WARNING
        out: list[tuple[int, str]] = [(level, self.done_text % {"count": self.done})]
        for reason, (count, items) in self.skipped.items():
            text = _("Skipped %(count)d: %(reason)s%(items)s.")
            out.append((messages.WARNING, text % _parts(count, reason, items)))
        for reason, (count, items) in self.failed.items():
            text = _("Failed %(count)d: %(reason)s%(items)s.")
            out.append((messages.ERROR, text % _parts(count, reason, items)))
        return out

    def send(self, model_admin: Any, request: HttpRequest) -> None:
        for level, text in self.messages():
            model_admin.message_user(request, text, level)


def _add(bucket: dict[str, list], item: object, reason: str, count: int) -> None:
    if count <= 0:
        return
    entry = bucket.setdefault(str(reason), [0, []])
    entry[0] += count
    if item is not None:
        entry[1].append(str(item))


def _parts(count: int, reason: str, items: list[str]) -> dict[str, Any]:
    return {"count": count, "reason": reason, "items": _names(items)}


def _names(items: list[str]) -> str:
    if not items:
        return ""
    shown = ", ".join(items[:SHOWN])
    if len(items) <= SHOWN:
        return f" ({shown})"
    more = _("%(shown)s and %(more)d more") % {"shown": shown, "more": len(items) - SHOWN}
    return f" ({more})"
