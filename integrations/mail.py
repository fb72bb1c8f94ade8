"""Release notes by e-mail over SMTP, with the standard library.

The server is given as a URL:

- `smtp://user:password@host:port` connects in the clear and switches to TLS with
  STARTTLS whenever the server offers it. The port defaults to 587, the mail submission
  port (RFC 6409): port 25 is for servers relaying to each other and is blocked by many
  hosting platforms.
- `smtps://user:password@host:port` speaks TLS from the first byte (RFC 8314); the port
  defaults to 465.

User and password are optional and percent-decoded (write `%40` for an `@` in a user
name). Certificates are verified against the system's trust store unless a test passes
its own `ssl_context`. A password is never sent over a connection without TLS, except to
a loopback address, where nobody else can listen (a local relay or a test server).

Failures come out as the job runner sorts them: a time-out, a refused or dropped
connection and a 4xx reply are `TransientError`s (retried later); a failed login, a 5xx
refusal and a certificate that does not verify are `IntegrationError`s. Their messages
name the server (host and port) and its reply, never the password.
"""

from __future__ import annotations

import base64
import email.utils
import ipaddress
import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from integrations.ports import Email, IntegrationError, TransientError

log = logging.getLogger("release_bot.mail")

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
#: How much of a server's own reply a user is shown.
REPLY_LIMIT = 200


def parse_smtp_url(url: str) -> tuple[str, str, int, str | None, str | None]:
    """(scheme, host, port, user, password) of an `smtp://` or `smtps://` URL.

    Raises `ValueError` with one sentence saying what is wrong; the sentence never
    repeats the URL, which may hold a password.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("SMTP_URL is not a valid URL (check its host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            "SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS from the start)."
        )
    host = parts.hostname
    if not host:
        raise ValueError("SMTP_URL names no server, like smtp://user:password@smtp.example.com.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("SMTP_URL takes no path, query or fragment after the server.")
    if port == 0:
        raise ValueError("SMTP_URL has port 0; leave the port out or give a real one.")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not user:
        raise ValueError("SMTP_URL has a password but no user name.")
    return scheme, host, port or DEFAULT_PORTS[scheme], user, password or None


class SmtpMailer:
    """Sends each e-mail to every recipient in one SMTP transaction."""

    def __init__(
        self,
        url: str,
        sender: str,
        recipients: tuple[str, ...],
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        scheme, host, port, user, password = parse_smtp_url(url)
        self._envelope_from = _address(sender, "the sender")
        if not recipients:
            raise ValueError("release notes need at least one recipient.")
        self._envelope_to = [_address(r, "a recipient") for r in recipients]
        self.sender = sender
        self.recipients = recipients
        self.timeout = timeout
        self.implicit_tls = scheme == "smtps"
        self.host = host
        self.port = port
        self.user = user
        self._password = password  # private, and left out of repr
        self._context = ssl_context
        self._sent: set[str] = set()  # Message-IDs this process has handed over already
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        scheme = "smtps" if self.implicit_tls else "smtp"
        who = f"{self.user}@" if self.user else ""
        return f"SmtpMailer({scheme}://{who}{self.host}:{self.port}, {len(self.recipients)} to)"

    @property
    def server(self) -> str:
        return f"the mail server {self.host}:{self.port}"

    def send(self, email: Email) -> None:
        message = self.message(email)
        message_id = str(message["Message-ID"])
        with self._lock:
            if message_id in self._sent:
                # Called again after a success: the port asks for no second copy.
                log.info("e-mail %s was sent already; not sending it again", message_id)
                return
        try:
            refused = self._deliver(message)
        except IntegrationError:
            raise
        except smtplib.SMTPException as error:
            raise self._error(error) from None
        except ssl.SSLCertVerificationError as error:
            raise IntegrationError(
                f"{self.server} presented a certificate that does not verify "
                f"({error.verify_message or 'certificate verify failed'})"
            ) from None
        except TimeoutError:
            raise TransientError(
                f"{self.server} did not answer within {self.timeout:g} s"
            ) from None
        except OSError as error:  # refused, reset, unknown host, a TLS handshake cut short
            raise TransientError(
                f"could not reach {self.server} ({type(error).__name__})"
            ) from None
        with self._lock:
            self._sent.add(message_id)
        if refused:
            # The others have it: failing now would send them a second copy on the retry.
            log.warning(
                "e-mail %s went out, but %d of %d recipients were refused: %s",
                message_id,
                len(refused),
                len(self._envelope_to),
                "; ".join(f"{code} {self._said(text)}" for code, text in refused.values()),
            )
        log.info(
            "sent e-mail %r to %d recipient(s) via %s",
            message["Subject"],
            len(self._envelope_to) - len(refused),
            self.server,
        )

    def message(self, email: Email) -> EmailMessage:
        """The MIME message for `email`: plain text, with the HTML as its alternative."""
        message = EmailMessage()
        # Header values may not hold line breaks (header injection); a subject is one line.
        message["Subject"] = " ".join(email.subject.split())
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = email_date()
        message_id = email.message_id.strip()
        message["Message-ID"] = message_id if message_id.startswith("<") else f"<{message_id}>"
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        return message

    def _deliver(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """One SMTP session; returns the recipients the server refused (when some took it)."""
        context = self._context or ssl.create_default_context()
        connection: smtplib.SMTP
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if not self.implicit_tls and connection.has_extn("starttls"):
                connection.starttls(context=context)
                connection.ehlo()  # the server's offer may differ once the line is private
            if self.user:
                if not _is_tls(connection) and not _loopback(self.host):
                    raise IntegrationError(
                        f"{self.server} does not offer STARTTLS, and the password is not "
                        "sent unencrypted; use a server with TLS or an smtps:// URL"
                    )
                connection.login(self.user, self._password or "")
            refused = connection.send_message(
                message, from_addr=self._envelope_from, to_addrs=self._envelope_to
            )
        except BaseException:
            connection.close()
            raise
        # The server has the message: a failed goodbye must not make it look unsent.
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
        return refused

    def _error(self, error: smtplib.SMTPException) -> IntegrationError:
        """The error an SMTP exception stands for: 4xx and dropped lines pass, 5xx do not."""
        if isinstance(error, smtplib.SMTPServerDisconnected):
            # smtplib reports a reply that never came as a disconnection.
            if isinstance(error.__context__, TimeoutError):
                return TransientError(f"{self.server} did not answer within {self.timeout:g} s")
            return TransientError(f"{self.server} closed the connection unexpectedly")
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in error.recipients.values()]
            said = "; ".join(
                f"{code} {self._said(text)}" for code, text in error.recipients.values()
            )
            what = f"{self.server} refused every recipient ({said})"
            if all(400 <= code < 500 for code in codes):
                return TransientError(what)
            return IntegrationError(what)
        if isinstance(error, smtplib.SMTPAuthenticationError):
            what = (
                f"{self.server} did not accept the user name and password "
                f"({error.smtp_code} {self._said(error.smtp_error)})"
            )
            # 454: a temporary authentication failure (RFC 4954), worth another try.
            return TransientError(what) if 400 <= error.smtp_code < 500 else IntegrationError(what)
        if isinstance(error, smtplib.SMTPResponseException):
            code = error.smtp_code
            what = f"{self.server} answered {code} {self._said(error.smtp_error)}".rstrip()
            if 400 <= code < 500:
                return TransientError(what)
            return IntegrationError(what)
        # smtplib's own complaints, such as no login method both sides know.
        return IntegrationError(
            f"could not send e-mail via {self.server}: {self._said(str(error))}"
        )

    def _said(self, text: bytes | str) -> str:
        """A server's reply, on one line, short, and with nothing of the password in it."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        said = " ".join(text.split())
        for secret in self._secrets():
            said = said.replace(secret, "***")
        return said if len(said) <= REPLY_LIMIT else said[: REPLY_LIMIT - 1] + "…"

    def _secrets(self) -> list[str]:
        """The password as it could come back: itself and inside the AUTH PLAIN/LOGIN blobs."""
        if not self._password:
            return []
        plain = f"\0{self.user or ''}\0{self._password}".encode()
        return [
            self._password,
            base64.b64encode(plain).decode(),
            base64.b64encode(self._password.encode()).decode(),
        ]


def email_date() -> str:
    return email.utils.formatdate(usegmt=True)


def _address(value: str, what: str) -> str:
    """The bare address for the SMTP envelope, from `a@b` or `Name <a@b>`."""
    address = email.utils.parseaddr(value)[1]
    if "@" not in address or any(c.isspace() for c in address):
        raise ValueError(f"{what} ({value!r}) is not an e-mail address.")
    return address


def _is_tls(connection: smtplib.SMTP) -> bool:
    return isinstance(connection.sock, ssl.SSLSocket)


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
