"""RPSL: read the objects of a registry dump, one at a time (RFC 2622 §2).

Pure and streaming: lines in, ``RpslObject`` out, with bounded memory
whatever the size of the dump. An object is a run of ``attribute: value``
lines ended by a blank line. A line starting with a space, a tab or ``+``
continues the previous value (``+`` stands for an empty line). Lines
starting with ``#`` or ``%`` outside values are comments. Within a value,
``#`` starts an end-of-line comment except in free-text attributes.

A malformed object is refused whole, with its first line number and the
reason, and the reader goes on with the next one: one bad object never
loses the rest of a four-million-object dump.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

MAX_LINE = 10_000
MAX_ATTRIBUTES = 2_000
_ATTRIBUTE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]{0,79}):(.*)\Z", re.DOTALL)
# Free text where "#" is data, not a comment.
FREE_TEXT = frozenset({"remarks", "descr", "address", "abuse-mailbox", "e-mail", "changed"})


class RpslError(ValueError):
    """A refused object: ``line`` is where it started."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass
class RpslObject:
    """One object: its class (first attribute), key and attributes in order."""

    attributes: list[tuple[str, str]]
    line: int
    _index: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        return self.attributes[0][0]

    @property
    def key(self) -> str:
        return self.attributes[0][1]

    def values(self, name: str) -> list[str]:
        """Every value of ``name`` (attributes may repeat), in order."""
        if not self._index:
            for attr, value in self.attributes:
                self._index.setdefault(attr, []).append(value)
        return self._index.get(name, [])

    def first(self, name: str) -> str:
        found = self.values(name)
        return found[0] if found else ""


def lines_decoded(raw: Iterable[bytes]) -> Iterator[str]:
    """Text lines from dump bytes: UTF-8, else Latin-1 (RIPE's older objects)."""
    for line in raw:
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line.decode("latin-1")


def objects_read(
    lines: Iterable[str],
    *,
    on_error: Callable[[RpslError], None] | None = None,
    kinds: frozenset[str] | None = None,
) -> Iterator[RpslObject]:
    """The well-formed objects of ``lines``; each refused one goes to ``on_error``.

    With ``kinds``, objects of other classes are skipped unparsed (a pass
    over a four-million-object dump that wants only its roles).
    """
    block: list[tuple[int, str]] = []
    number = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if line.strip():
            block.append((number, line))
            continue
        if block:
            yield from _object_or_error(block, on_error, kinds)
            block = []
    if block:
        yield from _object_or_error(block, on_error, kinds)


def _object_or_error(
    block: list[tuple[int, str]],
    on_error: Callable[[RpslError], None] | None,
    kinds: frozenset[str] | None,
) -> Iterator[RpslObject]:
    # Comment lines before an object (file headers) are not part of it.
    while block and block[0][1][:1] in "#%":
        block = block[1:]
    if not block:
        return
    if kinds is not None and block[0][1].split(":", 1)[0].strip().lower() not in kinds:
        return
    try:
        yield object_parse(block)
    except RpslError as exc:
        if on_error is not None:
            on_error(exc)


def object_parse(block: list[tuple[int, str]]) -> RpslObject:
    """One object from its numbered lines; RpslError if malformed."""
    start = block[0][0]
    if len(block) > MAX_ATTRIBUTES:
        raise RpslError(start, f"more than {MAX_ATTRIBUTES} lines")
    attributes: list[tuple[str, list[str]]] = []
    for number, line in block:
        if len(line) > MAX_LINE:
            raise RpslError(number, f"line longer than {MAX_LINE} characters")
        _line_add(attributes, number, line)
    return RpslObject([(name, _value(name, parts)) for name, parts in attributes], start)


def _line_add(attributes: list[tuple[str, list[str]]], number: int, line: str) -> None:
    if line[0] in " \t+":
        if not attributes:
            raise RpslError(number, "continuation line before any attribute")
        attributes[-1][1].append("" if line[0] == "+" else line[1:])
        return
    if line[0] in "#%":
        return  # a comment line inside an object
    match = _ATTRIBUTE.match(line)
    if match is None:
        raise RpslError(number, f"not an attribute: {line[:60]!r}")
    attributes.append((match.group(1).lower(), [match.group(2)]))


def _value(name: str, parts: list[str]) -> str:
    if name not in FREE_TEXT:
        parts = [part.split("#", 1)[0] for part in parts]
    return " ".join(part.strip() for part in parts if part.strip())
