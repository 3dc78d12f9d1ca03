"""A small IMAP4rev1 server on loopback, for tests of the poller.

It speaks just what ``letters.inbound.mailbox_poll`` and imaplib send:
CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH (RFC822.SIZE or
BODY.PEEK[]), UID STORE +FLAGS, UID COPY, NOOP and LOGOUT, over plain TCP.
Messages, flags and copies live in memory so a test can look at them.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class ImapMailbox:
    messages: dict[int, bytes]
    flags: dict[int, set[str]] = field(default_factory=dict)
    copies: dict[str, list[int]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    def unseen(self) -> list[int]:
        return [uid for uid in sorted(self.messages) if "\\Seen" not in self.flags.get(uid, set())]


class _Handler(socketserver.StreamRequestHandler):
    box: ImapMailbox

    def handle(self) -> None:
        self._send(b"* OK IMAP4rev1 test server ready")
        while True:
            line = self.rfile.readline(10_000)
            if not line:
                return
            tag, _, rest = line.decode("ascii", "replace").strip().partition(" ")
            self.box.commands.append(rest)
            if not self._answer(tag, rest):
                return

    def _answer(self, tag: str, command: str) -> bool:
        upper = command.upper()
        if upper.startswith("CAPABILITY"):
            self._send(b"* CAPABILITY IMAP4rev1")
        elif upper.startswith("LOGOUT"):
            self._send(b"* BYE logging out")
            self._ok(tag)
            return False
        elif upper.startswith("SELECT"):
            self._send(b"* %d EXISTS" % len(self.box.messages))
            self._send(b"* FLAGS (\\Seen)")
            self._send(f"{tag} OK [READ-WRITE] SELECT completed".encode())
            return True
        elif upper.startswith("UID SEARCH"):
            self._send(b"* SEARCH " + " ".join(map(str, self.box.unseen())).encode())
        elif upper.startswith("UID FETCH"):
            self._fetch(command)
        elif upper.startswith("UID STORE"):
            uid = int(command.split()[2])
            self.box.flags.setdefault(uid, set()).add("\\Seen")
            self._send(b"* 1 FETCH (UID %d FLAGS (\\Seen))" % uid)
        elif upper.startswith("UID COPY"):
            _, _, uid, folder = command.split(maxsplit=3)
            self.box.copies.setdefault(folder.strip('"'), []).append(int(uid))
        elif not upper.startswith(("LOGIN", "NOOP")):
            self._send(f"{tag} BAD unknown command".encode())
            return True
        self._ok(tag)
        return True

    def _fetch(self, command: str) -> None:
        uid = int(command.split()[2])
        raw = self.box.messages[uid]
        if re.search(r"RFC822\.SIZE", command, re.I):
            self._send(b"* 1 FETCH (UID %d RFC822.SIZE %d)" % (uid, len(raw)))
            return
        self.wfile.write(b"* 1 FETCH (UID %d BODY[] {%d}\r\n" % (uid, len(raw)) + raw + b")\r\n")

    def _send(self, data: bytes) -> None:
        self.wfile.write(data + b"\r\n")

    def _ok(self, tag: str) -> None:
        self._send(f"{tag} OK completed".encode())


class ImapServer:
    """``with ImapServer(box) as port:`` serves ``box`` on 127.0.0.1:port."""

    def __init__(self, box: ImapMailbox) -> None:
        handler = type("Handler", (_Handler,), {"box": box})
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        return self.server.server_address[1]

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
