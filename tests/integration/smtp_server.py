"""A small SMTP server for the fault tests and the escalation benchmark: a thread in the calling process.

It speaks enough SMTP for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps every
message it was given, with its Message-ID, whether it accepted it or not. On demand it refuses
messages with 554 (for the next N messages to an address, or always) or hangs on the reply to the
DATA transaction, after it has read the message (a server that has the message but never said so:
the sender cannot know, and sends it again).
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

ACCEPTED, REFUSED, HUNG = "accepted", "refused", "hung"


@dataclass
class Received:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    outcome: str  # accepted, refused or hung (read, never answered)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=email_policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


def _address(argument: str) -> str:
    """`FROM:<a@b> SIZE=1` -> `a@b`."""
    value = argument.split(":", 1)[1].strip() if ":" in argument else argument
    value = value.split(" ", 1)[0]
    return value.strip("<>").lower()


class _Handler(socketserver.StreamRequestHandler):
    server: SmtpServer
    timeout = 60
    disable_nagle_algorithm = True  # each reply goes at once: no waiting for the client's delayed ACK

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client went away (a killed worker): nothing to answer
            self._session()

    def _session(self) -> None:
        self.reply("220 faults.invalid ESMTP test server")
        mail_from, rcpt_to = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-faults.invalid\r\n250-8BITMIME\r\n250 SMTPUTF8")
            elif verb == "HELO":
                self.reply("250 faults.invalid")
            elif verb == "MAIL":
                mail_from, rcpt_to = _address(argument), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpt_to.append(_address(argument))
                self.reply("250 OK")
            elif verb == "DATA":
                if not rcpt_to:
                    self.reply("503 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if data is None:
                    return
                self._answer(mail_from, rcpt_to, data)
                mail_from, rcpt_to = "", []
            elif verb == "RSET":
                mail_from, rcpt_to = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _read_data(self) -> bytes | None:
        lines = []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return None
            if raw in (b".\r\n", b".\n"):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b"..") else raw)

    def _answer(self, mail_from: str, rcpt_to: list[str], data: bytes) -> None:
        outcome = self.server.decide(rcpt_to)
        self.server.keep(Received(mail_from, list(rcpt_to), data, outcome))
        if outcome == HUNG:
            self.server.release.wait()  # until the test ends; the client has gone by then
            return
        if outcome == REFUSED:
            self.reply("554 5.7.1 Transaction failed (refused by the test server)")
        else:
            self.reply("250 2.0.0 OK queued")


class SmtpServer(socketserver.ThreadingTCPServer):
    """`with SmtpServer() as smtp:` listens on 127.0.0.1 on a free port (`smtp.url` for EMAIL_URL)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__((host, port), _Handler)
        self.lock = threading.Lock()
        self.release = threading.Event()
        self._received: list[Received] = []
        self._refuse: Counter[str] = Counter()
        self._refuse_always: set[str] = set()
        self._hang = 0
        self._thread = threading.Thread(target=self.serve_forever, name="smtp-test-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"smtp://{host}:{port}"

    # --- what to do with the next messages -------------------------------------------------------

    def refuse(self, address: str, times: int | None = None) -> None:
        """Answer 554 to the next `times` messages to `address`, or to every one when `times` is None."""
        with self.lock:
            if times is None:
                self._refuse_always.add(address.lower())
            else:
                self._refuse[address.lower()] += times

    def hang_next(self, times: int = 1) -> None:
        """Read the next `times` messages and never answer them."""
        with self.lock:
            self._hang += times

    def decide(self, rcpt_to: list[str]) -> str:
        with self.lock:
            if self._hang:
                self._hang -= 1
                return HUNG
            for address in rcpt_to:
                if address in self._refuse_always:
                    return REFUSED
                if self._refuse[address] > 0:
                    self._refuse[address] -= 1
                    return REFUSED
            return ACCEPTED

    # --- what it was given -----------------------------------------------------------------------

    def keep(self, received: Received) -> None:
        with self.lock:
            self._received.append(received)

    def received(self, outcome: str | None = None, to: str | None = None) -> list[Received]:
        with self.lock:
            found = list(self._received)
        if outcome is not None:
            found = [r for r in found if r.outcome == outcome]
        if to is not None:
            found = [r for r in found if to.lower() in r.rcpt_to]
        return found

    # --- running ---------------------------------------------------------------------------------

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
