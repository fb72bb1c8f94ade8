"""The SMTP mailer against a real SMTP server on loopback (aiosmtpd), with and without TLS."""

from __future__ import annotations

import contextlib
import email
import email.policy
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from integrations import mail
from integrations.dryrun import DryRunMailer
from integrations.mail import SmtpMailer, parse_smtp_url
from integrations.ports import Email, IntegrationError, TransientError
from tests.processes import free_port

USER = "release-bot@example.com"
PASSWORD = "p@ss:w/rd%x"  # needs percent-encoding in a URL: every kind of trouble at once
URL_PASSWORD = "p%40ss%3Aw%2Frd%25x"
USER_IN_URL = "release-bot%40example.com"
SENDER = "Release Bot <release-bot@example.com>"
RECIPIENTS = ("team@example.com", "Support <support@example.com>")
EMAIL = Email(
    subject="Portal 1.4.0 released — café edition",
    text="Portal 1.4.0 is live.\n\n- Faster uploads (#12)\n",
    html="<p>Portal <b>1.4.0</b> is live.</p><ul><li>Faster uploads (#12)</li></ul>",
    message_id="<release-1.4.0@release-bot>",
)


# -- a real SMTP server ------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool  # whether the session was encrypted when the message came
    user: str | None  # who logged in, if anyone

    def parsed(self) -> email.message.EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        return message


@dataclass
class Handler:
    """aiosmtpd's hooks: takes what it is given, or answers as a test sets it."""

    received: list[Received] = field(default_factory=list)
    mail_reply: str | None = None  # e.g. "421 4.3.2 shutting down"
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # by address; "*" for all

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's naming)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's naming)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address) or self.rcpt_replies.get("*")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's naming)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        user = session.auth_data.login.decode() if session.authenticated else None
        # session.ssl is set by STARTTLS only; with TLS from the start, the transport knows.
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls, user)
        )
        return "250 Message accepted"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers 535 itself (with True it would leave the client waiting).
    return AuthResult(success=ok, handled=False, auth_data=data if ok else None)


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the throwaway CA


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost", "127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


@contextlib.contextmanager
def smtp_server(handler: Handler, **options: Any) -> Iterator[int]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def mailer(url: str, tls: Tls | None = None, **options: Any) -> SmtpMailer:
    context = tls.client if tls else None
    return SmtpMailer(url, SENDER, RECIPIENTS, timeout=5, ssl_context=context, **options)


# -- sending -----------------------------------------------------------------------------


def test_the_message_arrives_with_text_and_html() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)

    [got] = handler.received
    assert got.mail_from == "release-bot@example.com"
    assert got.rcpt_tos == ["team@example.com", "support@example.com"]
    assert (got.tls, got.user) == (False, None)  # the server offered no STARTTLS
    message = got.parsed()
    assert message["From"] == SENDER
    assert message["To"] == "team@example.com, Support <support@example.com>"
    assert message["Subject"] == EMAIL.subject
    assert message["Message-ID"] == "<release-1.4.0@release-bot>"
    assert message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    # Lines end in CRLF on the wire.
    assert plain.get_content().replace("\r\n", "\n") == EMAIL.text
    assert html.get_content().strip() == EMAIL.html


def test_a_bare_message_id_gets_angle_brackets() -> None:
    handler = Handler()
    bare = Email(EMAIL.subject, EMAIL.text, EMAIL.html, "release-1.4.1@release-bot")
    with smtp_server(handler) as port:
        mailer(f"smtp://127.0.0.1:{port}").send(bare)
    assert handler.received[0].parsed()["Message-ID"] == "<release-1.4.1@release-bot>"


def test_a_subject_with_a_line_break_stays_one_line() -> None:
    handler = Handler()
    sneaky = Email("1.4.0\r\nBcc: everyone@example.com", EMAIL.text, EMAIL.html, "<x@y>")
    with smtp_server(handler) as port:
        mailer(f"smtp://127.0.0.1:{port}").send(sneaky)
    message = handler.received[0].parsed()
    assert message["Subject"] == "1.4.0 Bcc: everyone@example.com"
    assert message["Bcc"] is None


def test_a_second_send_of_the_same_message_is_not_delivered_twice() -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        sender = mailer(f"smtp://127.0.0.1:{port}")
        sender.send(EMAIL)
        sender.send(EMAIL)
    assert len(handler.received) == 1


def test_login_on_loopback_without_tls() -> None:
    handler = Handler()
    options = {"authenticator": authenticate, "auth_require_tls": False}
    with smtp_server(handler, **options) as port:
        mailer(f"smtp://{USER_IN_URL}:{URL_PASSWORD}@127.0.0.1:{port}").send(EMAIL)
    assert handler.received[0].user == USER


def test_starttls_is_used_when_offered_and_login_goes_over_it(tls: Tls) -> None:
    handler = Handler()
    options = {"authenticator": authenticate, "tls_context": tls.server, "require_starttls": True}
    with smtp_server(handler, **options) as port:
        mailer(f"smtp://{USER_IN_URL}:{URL_PASSWORD}@localhost:{port}", tls).send(EMAIL)
    [got] = handler.received
    assert (got.tls, got.user) == (True, USER)


def test_implicit_tls_with_smtps(tls: Tls) -> None:
    handler = Handler()
    # aiosmtpd counts only STARTTLS as encryption for AUTH, though this line is TLS throughout.
    options = {"authenticator": authenticate, "ssl_context": tls.server, "auth_require_tls": False}
    with smtp_server(handler, **options) as port:
        mailer(f"smtps://{USER_IN_URL}:{URL_PASSWORD}@127.0.0.1:{port}", tls).send(EMAIL)
    [got] = handler.received
    assert (got.tls, got.user) == (True, USER)
    assert got.parsed()["Message-ID"] == "<release-1.4.0@release-bot>"


def test_a_certificate_that_does_not_verify_is_refused(tls: Tls) -> None:
    handler = Handler()
    refused = pytest.raises(IntegrationError, match="certificate that does not verify")
    with smtp_server(handler, ssl_context=tls.server) as port, refused as caught:
        # No ssl_context: the system's trust store, which has never heard of the test CA.
        mailer(f"smtps://127.0.0.1:{port}").send(EMAIL)
    assert not isinstance(caught.value, TransientError)
    assert handler.received == []


def test_a_password_is_not_sent_in_the_clear_beyond_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mail, "_loopback", lambda host: False)  # as if the server were remote
    handler = Handler()
    options = {"authenticator": authenticate, "auth_require_tls": False}
    refused = pytest.raises(IntegrationError, match="does not offer STARTTLS")
    with smtp_server(handler, **options) as port, refused as caught:
        mailer(f"smtp://{USER_IN_URL}:{URL_PASSWORD}@127.0.0.1:{port}").send(EMAIL)
    assert not isinstance(caught.value, TransientError)
    assert handler.received == []


# -- failures ----------------------------------------------------------------------------


def test_a_wrong_password_is_a_refusal_that_never_shows_the_password() -> None:
    handler = Handler()
    options = {"authenticator": authenticate, "auth_require_tls": False}
    wrong = "hunter2-wrong"
    with smtp_server(handler, **options) as port:
        sender = mailer(f"smtp://{USER_IN_URL}:{wrong}@127.0.0.1:{port}")
        with pytest.raises(IntegrationError, match="did not accept the user name") as caught:
            sender.send(EMAIL)
    assert not isinstance(caught.value, TransientError)
    assert wrong not in str(caught.value)
    assert wrong not in repr(sender) and wrong not in str(vars(sender).get("url", ""))
    assert all(wrong not in str(value) for name, value in vars(sender).items() if name[0] != "_")


def test_every_recipient_refused_with_5xx_is_a_refusal() -> None:
    handler = Handler(rcpt_replies={"*": "550 5.1.1 no such mailbox"})
    refused = pytest.raises(IntegrationError, match="refused every recipient")
    with smtp_server(handler) as port, refused as caught:
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)
    assert not isinstance(caught.value, TransientError)
    assert "550" in str(caught.value)


def test_every_recipient_deferred_with_451_is_transient() -> None:
    handler = Handler(rcpt_replies={"*": "451 4.3.0 try again later"})
    with smtp_server(handler) as port, pytest.raises(TransientError, match="451"):
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)


def test_a_421_shutting_down_is_transient() -> None:
    handler = Handler(mail_reply="421 4.3.2 shutting down")
    with smtp_server(handler) as port, pytest.raises(TransientError, match="421"):
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)


def test_some_recipients_refused_still_counts_as_sent(caplog: pytest.LogCaptureFixture) -> None:
    handler = Handler(rcpt_replies={"support@example.com": "550 5.1.1 no such mailbox"})
    with smtp_server(handler) as port, caplog.at_level(logging.WARNING, "release_bot.mail"):
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)
    assert handler.received[0].rcpt_tos == ["team@example.com"]
    assert "1 of 2 recipients were refused" in caplog.text


@contextlib.contextmanager
def raw_server(greeting: bytes | None) -> Iterator[int]:
    """A TCP server that sends `greeting` and hangs up, or (None) never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                if greeting is not None:
                    connection.sendall(greeting)
                else:
                    stop.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def test_a_421_greeting_is_transient() -> None:
    busy = raw_server(b"421 4.7.0 too busy, try later\r\n")
    with busy as port, pytest.raises(TransientError, match="421"):
        mailer(f"smtp://127.0.0.1:{port}").send(EMAIL)


def test_a_server_that_never_greets_times_out_as_transient() -> None:
    with raw_server(None) as port:
        sender = SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER, RECIPIENTS, timeout=0.5)
        with pytest.raises(TransientError, match="did not answer within 0.5 s"):
            sender.send(EMAIL)


def test_a_closed_port_is_transient() -> None:
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        url = f"smtp://{USER_IN_URL}:{URL_PASSWORD}@127.0.0.1:{port}"
        with pytest.raises(TransientError, match="could not reach") as caught:
            mailer(url).send(EMAIL)
    assert PASSWORD not in str(caught.value) and URL_PASSWORD not in str(caught.value)


def test_the_password_is_not_in_the_mailers_repr() -> None:
    sender = mailer(f"smtps://{USER_IN_URL}:{URL_PASSWORD}@smtp.example.com")
    assert repr(sender) == "SmtpMailer(smtps://release-bot@example.com@smtp.example.com:465, 2 to)"
    assert PASSWORD not in repr(vars(sender)).replace(repr(PASSWORD), "")


# -- the URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("smtp", "mail.example.com", 587, None, None)),
        ("smtps://mail.example.com", ("smtps", "mail.example.com", 465, None, None)),
        ("SMTP://mail.example.com:25/", ("smtp", "mail.example.com", 25, None, None)),
        ("smtp://bot@mail.example.com", ("smtp", "mail.example.com", 587, "bot", None)),
        (
            f"smtps://{USER_IN_URL}:{URL_PASSWORD}@[::1]:2465",
            ("smtps", "::1", 2465, USER, PASSWORD),
        ),
    ],
)
def test_parse_smtp_url(url: str, expected: tuple[object, ...]) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://mail.example.com", "must start with smtp:// .* or smtps://"),
        ("mail.example.com:587", "must start with smtp://"),
        ("smtp://user:hunter2@", "names no server"),
        ("smtp://user:hunter2@mail.example.com:99999", "not a valid URL"),
        ("smtp://user:hunter2@mail.example.com:abc", "not a valid URL"),
        ("smtp://user:hunter2@mail.example.com:0", "port 0"),
        ("smtp://user:hunter2@mail.example.com/inbox", "no path, query or fragment"),
        ("smtp://user:hunter2@mail.example.com?tls=1", "no path, query or fragment"),
        ("smtp://:hunter2@mail.example.com", "a password but no user name"),
    ],
)
def test_a_bad_smtp_url_is_refused_without_repeating_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_smtp_url(url)
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("SMTP_URL") and str(caught.value).endswith(".")


@pytest.mark.parametrize("sender", ["", "not an address", "a b@example.com"])
def test_a_bad_sender_is_refused(sender: str) -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        SmtpMailer("smtp://mail.example.com", sender, RECIPIENTS)


def test_no_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        SmtpMailer("smtp://mail.example.com", SENDER, ())


def test_the_dry_run_mailer_logs_subject_and_count_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "release_bot.dry_run"):
        DryRunMailer(RECIPIENTS).send(EMAIL)
    assert EMAIL.subject in caplog.text and "2 recipient(s)" in caplog.text
    assert "team@example.com" not in caplog.text and "Faster uploads" not in caplog.text
