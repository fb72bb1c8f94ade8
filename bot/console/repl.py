"""`release-bot console`: the whole bot in a terminal, with no Slack account.

It drives the real Bolt app over HTTP with requests signed as Slack signs them, and reads
what the bot says from a fake Slack Web API. Type a slash command as a chosen user, press
buttons, tick checkboxes and fill in modals.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from sqlalchemy.engine import make_url

from bot.console.fake_slack import Message, OpenedView, UploadedFile
from bot.console.local import CHANNEL_ID, LocalBot
from bot.console.render import Control, mrkdwn, render_blocks
from commands.parser import Usage, parse
from commands.timefmt import in_zone
from integrations import dry_run as rehearsal
from release.clock import OffsetClock
from release.policy import DEFAULT_SMOKE_CHECKS
from release.windows import next_window

HELP = """\
Console commands:
  /release <text>        run a slash command as the current user (`@name` mentions someone)
  as <name>              switch user (anyone; a new name is a new person with no roles;
                         names and their roles are kept between sessions)
  in <#channel>          switch channel (commands only work in #portal-release)
  press <n|label>        press button n (or the newest button with that label)
  tick <n> [items…]      set checklist n to exactly these item numbers
  time [window|YYYY-MM-DD HH:MM]
                         show the bot's clock, jump to the next release window, or set it
                         (in the release zone); scheduled posts then fall due as they would
  who                    who you are and where
  help                   this text
  quit                   leave, as Ctrl-D or Ctrl-C do (the database keeps everything);
                         Ctrl-C at a modal or y/n prompt cancels just that prompt"""

_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,20}")


def user_id(name: str) -> str:
    return "U" + re.sub(r"[^A-Z0-9]", "", name.upper())


class _Cancelled(Exception):
    """Ctrl-C at a modal or confirm prompt: that prompt is dropped, the session goes on."""


class People:
    """The names the console has used, each with a fake Slack user ID kept across sessions."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            logging.getLogger(__name__).warning("names are not kept: %s: %s", self.path, error)
            self.path = None  # never overwrite a file we could not read
            return
        self.ids.update({str(name): str(uid) for name, uid in data.items()})

    def id_for(self, name: str) -> str:
        if name not in self.ids:
            self._load()  # another console on the same database may have met them
        if name not in self.ids:
            taken, uid, n = set(self.ids.values()), user_id(name), 1
            while uid in taken:  # `a.b` and `ab` are two people
                n += 1
                uid = f"{user_id(name)}{n}"
            self.ids[name] = uid
            self._save()
        return self.ids[name]

    def _save(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        try:
            temporary.write_text(json.dumps(self.ids, indent=2, sort_keys=True) + "\n")
            temporary.replace(self.path)
        except OSError as error:
            logging.getLogger(__name__).warning("names are not kept: %s: %s", self.path, error)


class Console:
    def __init__(
        self,
        bot: LocalBot,
        out: TextIO,
        read: Callable[[str], str | None],
        clock: OffsetClock,
        people: People | None = None,
        remember: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.out = out
        self.read = read
        self.remember = remember  # a typed command goes into the line-editing history
        self.people = people or People(None)
        self.names: dict[str, str] = {CHANNEL_ID: "portal-release", "UBOT": "release-bot"}
        self.names.update({uid: name for name, uid in self.people.ids.items()})
        self.user = self._person("alice")
        self.channel = CHANNEL_ID
        self.controls: dict[int, tuple[tuple[str, str], Control]] = {}
        self._seen_edits: dict[tuple[str, str], int] = {}
        self._seen_ephemerals = 0
        self._seen_views = 0
        self._seen_files = 0

    # -- plumbing -------------------------------------------------------------------

    def _person(self, name: str) -> str:
        uid = self.people.id_for(name)
        self.names[uid] = name
        return uid

    def name_of(self, some_id: str) -> str:
        return self.names.get(some_id, some_id)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str) -> str:
        """A modal or confirm prompt: Ctrl-C cancels it, the end of input answers nothing."""
        try:
            return self.read(prompt) or ""
        except KeyboardInterrupt:
            self.say()  # end the prompt's line
            raise _Cancelled from None

    def _escape_mentions(self, text: str) -> str:
        def escape(match: re.Match[str]) -> str:
            name = match.group(1).lower()
            return f"<@{self._person(name)}|{name}>"

        text = re.sub(r"(?<![<\w])@([A-Za-z][A-Za-z0-9_.-]*)", escape, text)
        return re.sub(r"(?<![<\w])(https?://\S+)", r"<\1>", text)

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Until `quit` or the end of input; Ctrl-C here (KeyboardInterrupt) ends it too."""
        self.say("release-bot console: the real bot, a local stand-in for Slack. Type `help`.")
        dry = self.bot.runtime.services.integrations.dry
        if dry:
            self.say(
                f"Dry run: {', '.join(dry)} do nothing real here (each says what it would do)."
            )
        self.say(f"You are @{self.name_of(self.user)} in #portal-release.")
        while True:
            line = self.read(f"{self.name_of(self.user)} in #{self.name_of(self.channel)}> ")
            if line is None:
                return
            line = line.strip()
            if line:
                self.remember(line)
            if line in ("quit", "exit"):
                return
            try:
                if line:
                    self.handle(line)
            except _Cancelled:
                self.say("(cancelled)")
            except Exception as error:  # a console typo must never end the session
                self.say(f"(console) {error}")

    def handle(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word == "/release":
            self.slash(rest)
        elif word in ("as", "user"):
            if not _NAME.fullmatch(rest.lower().lstrip("@")):
                self.say("(console) usage: as <name>, for example `as quinn`")
                return
            self.user = self._person(rest.lower().lstrip("@"))
            self.say(f"(console) you are now @{self.name_of(self.user)}")
        elif word in ("in", "channel"):
            name = rest.lstrip("#").lower()
            if name == "portal-release":
                self.channel = CHANNEL_ID
            elif _NAME.fullmatch(name):
                self.channel = "C" + re.sub(r"[^A-Z0-9]", "", name.upper())
                self.names[self.channel] = name
            else:
                self.say("(console) usage: in #channel")
                return
            self.say(f"(console) you are now in #{self.name_of(self.channel)}")
        elif word == "press":
            self.press(rest)
        elif word == "tick":
            self.tick(rest.split())
        elif word == "time":
            self.time(rest)
        elif word == "who":
            self.say(
                f"(console) @{self.name_of(self.user)} ({self.user}) in "
                f"#{self.name_of(self.channel)}"
            )
        elif word == "help":
            self.say(HELP)
        elif not isinstance(parse(line), Usage):  # `status` for `/release status`
            self.say(f"(console) unknown console command; did you mean `/release {line}`?")
        else:
            self.say("(console) unknown console command; type `help`")

    def time(self, arg: str) -> None:
        services = self.bot.runtime.services
        zone = services.policy.schedule.windows.zone
        if arg == "window":
            upcoming = next_window(services.policy.schedule.windows, self.clock.now())
            self.clock.set(upcoming.opens + timedelta(minutes=5))
        elif arg:
            try:
                local = datetime.strptime(arg, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
            except ValueError:
                self.say("(console) usage: time [window|YYYY-MM-DD HH:MM]")
                return
            if not 2000 <= local.year <= 2100:
                self.say("(console) pick a time between the years 2000 and 2100")
                return
            self.clock.set(local)
        self.say(f"(console) the bot's clock reads {in_zone(self.clock.now(), zone)}")
        if arg and self.bot.ticker is not None:
            self.bot.ticker.tick()
            self.show_news()

    def slash(self, text: str) -> None:
        response = self.bot.simulator.command(
            self.user,
            self._escape_mentions(text),
            channel_id=self.channel,
            user_name=self.name_of(self.user),
        )
        if response.status_code != 200:
            self.say(f"(console) the bot answered HTTP {response.status_code}")
        self.show_news()  # what it put in the acknowledgement is there too

    def _find(self, ref: str) -> tuple[tuple[str, str], Control] | None:
        if ref.isdigit():
            return self.controls.get(int(ref))
        matches = [c for c in self.controls.values() if c[1].label.lower() == ref.lower()]
        return matches[-1] if matches else None

    def _current(self, key: tuple[str, str]) -> Message | None:
        return self.bot.fake.messages.get(key)

    def press(self, ref: str) -> None:
        found = self._find(ref)
        if found is None or found[1].kind != "button":
            self.say("(console) no such button; buttons are shown as [n: Label]")
            return
        key, control = found
        message = self._current(key)
        if message is None or not any(
            e.get("action_id") == control.action_id
            for b in message.blocks
            for e in b.get("elements") or []
        ):
            self.say("(console) that button is no longer on the message")
            return
        confirm = control.element.get("confirm")
        if confirm:
            self.say(f"┌ {confirm['title']['text']}")
            self.say(f"│ {mrkdwn(confirm['text']['text'], self.name_of)}")
            answer = self.ask(
                f"└ {confirm['confirm']['text']} (y) / {confirm['deny']['text']} (n)? "
            )
            if answer.strip().lower() not in ("y", "yes"):
                self.say("(console) not pressed")
                return
        self.bot.simulator.click(self.user, message, control.action_id)
        self.show_news()

    def tick(self, args: list[str]) -> None:
        if not args or not args[0].isdigit():
            self.say("(console) usage: tick <checklist number> [item numbers…]")
            return
        found = self._find(args[0])
        if found is None or found[1].kind != "checkboxes":
            self.say("(console) no such checklist")
            return
        key, control = found
        message = self._current(key)
        if message is None:
            return
        values = [str(int(a) - 1) for a in args[1:] if a.isdigit() and int(a) > 0]
        self.bot.simulator.tick(self.user, message, control.action_id, values)
        self.show_news()

    # -- showing what the bot said --------------------------------------------------

    def show_news(self) -> None:
        fake = self.bot.fake
        self.bot.settle()
        files = fake.files[self._seen_files :]
        self._seen_files += len(files)
        # New and edited messages, and newly shared files, in the order Slack took them.
        news: list[tuple[str, tuple[str, str] | None, Message | UploadedFile, bool]] = [
            (shared.ts, None, shared, False) for shared in files
        ]
        for key, message in fake.messages.items():
            seen = self._seen_edits.get(key)
            if seen is None or seen < message.edits:
                self._seen_edits[key] = message.edits
                news.append((key[1], key, message, seen is not None))
        for _, where, item, edited in sorted(news, key=lambda new: new[0]):
            if isinstance(item, UploadedFile):
                self._file(item)
            elif where is not None:
                self._message(where, item, edited=edited)
        all_count = len(fake.ephemerals)
        for ephemeral in fake.ephemerals[self._seen_ephemerals : all_count]:
            if ephemeral.user == self.user:
                self._ephemeral(ephemeral.text)
        self._seen_ephemerals = all_count
        views = fake.views[self._seen_views :]
        self._seen_views = len(fake.views)
        for opened in views:
            if opened.user == self.user:
                self.fill_modal(opened)

    def _message(self, key: tuple[str, str], message: Message, *, edited: bool) -> None:
        where = f"#{self.name_of(message.channel)}"
        self.say(f"\n{where} · release-bot{' (message updated)' if edited else ''}")
        if message.blocks:
            controls: list[Control] = []
            lines = render_blocks(message.blocks, self.name_of, controls)
            base = max(self.controls, default=0)
            for offset, control in enumerate(controls, start=1):
                number = base + offset
                lines = [
                    line.replace(f"[{control.number}: ", f"[{number}: ").replace(
                        f"checklist [{control.number}] (tick {control.number} ",
                        f"checklist [{number}] (tick {number} ",
                    )
                    for line in lines
                ]
                control.number = number
                self.controls[number] = (key, control)
            for line in lines:
                self.say("  " + line)
        else:
            for line in mrkdwn(message.text, self.name_of).split("\n"):
                self.say("  " + line)

    def _file(self, shared: UploadedFile) -> None:
        self.say(f"\n#{self.name_of(shared.channel)} · release-bot")
        for line in mrkdwn(shared.comment, self.name_of).split("\n") if shared.comment else []:
            self.say("  " + line)
        title = f" — {shared.title}" if shared.title != shared.filename else ""
        self.say(f"  📎 {shared.filename} ({_size(shared.size)}){title}")

    def _ephemeral(self, text: str) -> None:
        self.say("\n(only visible to you) release-bot")
        for line in mrkdwn(text, self.name_of).split("\n"):
            self.say("  " + line)

    def fill_modal(self, opened: OpenedView) -> None:
        view = opened.view
        while True:
            self.say(f"\n┌─ modal: {view['title']['text']}")
            values: dict[str, dict[str, Any]] = {}
            for block in view.get("blocks") or []:
                if block.get("type") != "input":
                    continue
                element = block["element"]
                label = block["label"]["text"]
                if element["type"] == "static_select":
                    options = element["options"]
                    for i, option in enumerate(options, start=1):
                        self.say(f"│ {i}. {option['text']['text']}")
                    answer = self.ask(f"│ {label} (number): ").strip()
                    chosen = (
                        options[int(answer) - 1]
                        if answer.isdigit() and 0 < int(answer) <= len(options)
                        else None
                    )
                    values[block["block_id"]] = {
                        element["action_id"]: {"type": "static_select", "selected_option": chosen}
                    }
                else:
                    answer = self.ask(f"│ {label}: ")
                    values[block["block_id"]] = {
                        element["action_id"]: {"type": "plain_text_input", "value": answer or None}
                    }
            submit = view.get("submit", {}).get("text", "Submit")
            close = view.get("close", {}).get("text", "Cancel")
            answer = self.ask(f"└─ {submit} (y) / {close} (n)? ").strip().lower()
            if answer not in ("y", "yes"):
                self.say("(console) modal closed; nothing was sent")
                return
            response = self.bot.simulator.submit(self.user, opened, values)
            body = response.json() if response.content else {}
            if body.get("response_action") == "errors":
                for message in body.get("errors", {}).values():
                    self.say(f"(modal) {message}")
                continue
            self.show_news()
            return


def _size(size: int) -> str:
    """A file's size as Slack shows it: 532 B, 1.2 kB, 3.4 MB."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1_000_000:.1f} MB"


class _Terminal:
    """Console input: readline editing and history at a terminal, a transcript when piped."""

    def __init__(self, stream: TextIO, out: TextIO, history: Path) -> None:
        self.stream, self.out, self.history = stream, out, history
        self.interactive = stream.isatty()
        self.readline: ModuleType | None = None
        self._pending = b""  # piped input read but not yet returned
        if self.interactive:
            try:
                import readline
            except ImportError:  # not built on every platform
                return
            readline.set_auto_history(False)  # modal answers stay out of it
            readline.set_history_length(1000)
            with suppress(OSError):  # the first session, or an unreadable file: start afresh
                readline.read_history_file(history)
            self.readline = readline

    def read(self, prompt: str) -> str | None:
        try:
            if self.interactive:
                return input(prompt)
            print(prompt, end="", file=self.out, flush=True)
            line = self._piped_line()
        except EOFError:
            line = ""
        print(line.rstrip("\n"), file=self.out, flush=True)  # a transcript shows input
        return line.rstrip("\n") if line else None

    def _piped_line(self) -> str:
        """The next piped line. Ctrl-C may land on any of the bot's threads, and then a read
        blocked in the main thread is never interrupted; so input is awaited in short turns,
        between which Python runs the main thread's signal handler."""
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # an in-memory stream: nothing to await
            return self.stream.readline()
        while b"\n" not in self._pending:
            if not select.select([fd], [], [], 0.2)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self._pending += chunk
        line, newline, self._pending = self._pending.partition(b"\n")
        return (line + newline).decode(errors="replace")

    def remember(self, line: str) -> None:
        if self.readline is not None:
            self.readline.add_history(line)

    def close(self) -> None:
        if self.readline is not None:
            try:
                self.readline.write_history_file(self.history)
            except OSError as error:
                logging.getLogger(__name__).warning("history not saved: %s", error)


def _files_for(database_url: str) -> tuple[Path, str]:
    """Where the console keeps its own files, and their stem: beside a SQLite file, named
    after it; for a server database, here, named after its URL."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(str(url.database))
        return database.parent, database.name
    return Path(), ".release_bot_console-" + hashlib.sha256(database_url.encode()).hexdigest()[:12]


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A second Ctrl-C while the bot stops must not cut the stop short with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _DryRunEcho(logging.Handler):
    def __init__(self, out: TextIO) -> None:
        super().__init__(logging.INFO)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        print(f"  · {record.getMessage()}", file=self.out, flush=True)


def run_console(database_url: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """The console until `quit`, the end of input or Ctrl-C; then the bot stops cleanly."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    dry_run = logging.getLogger("release_bot.dry_run")
    dry_run.setLevel(logging.INFO)
    dry_run.addHandler(_DryRunEcho(stdout))
    dry_run.propagate = False
    folder, stem = _files_for(database_url)
    people = People(folder / f"{stem}.people.json")
    terminal = _Terminal(stdin, stdout, folder / ".release_bot_console_history")
    clock = OffsetClock()
    bot: LocalBot | None = None
    try:
        admins = (people.id_for("alice"),)
        # Always dry, even with credentials in the environment or .env: a rehearsal must
        # never branch, deploy or e-mail for real.
        bot = LocalBot.start(
            database_url,
            admins=admins,
            scheduler=True,
            clock=clock,
            integrations=rehearsal(DEFAULT_SMOKE_CHECKS),
        )
        Console(bot, stdout, terminal.read, clock, people, terminal.remember).run()
    except KeyboardInterrupt:  # at the prompt or while waiting for the bot: leave as `quit` does
        print(file=stdout, flush=True)  # end the line Ctrl-C cut
    finally:
        with _sigint_ignored():
            if bot is not None:
                bot.stop()
            terminal.close()
    print("(console) bye: the bot has stopped", file=stdout, flush=True)
    return 0
