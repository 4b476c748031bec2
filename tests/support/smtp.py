"""A real SMTP server for the tests: aiosmtpd's Controller on 127.0.0.1, collecting what it receives.

``free_port()`` gives a port nothing listens on (connections are refused), so a test can run the
outbox with the server down and then ``start()`` it on that very port.
"""

from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_content()


class _Collector:
    def __init__(self, inbox: list[Received]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int = field(default_factory=free_port)
    inbox: list[Received] = field(default_factory=list)
    _controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(_Collector(self.inbox), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def deliver_outbox(app: Any, runner: Any, server: SmtpServer) -> list[Received]:
    """Run ``flask outbox send`` against ``server`` and return (and take out of its inbox) what
    it received."""
    app.config["SMTP_URL"] = server.url
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    received = list(server.inbox)
    server.inbox.clear()
    return received
