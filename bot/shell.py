"""`chatcrm shell`: talk to the bot in the terminal as a chosen member of staff.

The real Dispatcher, handlers and database answer; only Telegram is replaced by a
session that prints what the bot sends. The buttons of every message of the last
answer are numbered together: type the number to press one (like `rasa shell` for
chatbots); a quote sends the rest of the line as it is (`'5` the text "5", `'7,5` the
text "7,5"), and with no buttons shown a number is text anyway. `/file PATH` sends a
file as a document (`/file PATH /import` with that caption); a document the bot sends
is saved in the working directory and its path printed. Anything else is sent as a
message. Messages to other people's chats (an approval request to a head, a notice to
a curator) are printed marked "→ to Name (role):", their buttons shown but not
pressable.
"""

from __future__ import annotations

import contextlib
import itertools
import mimetypes
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    File,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
    User,
)
from sqlalchemy import select

from bot.app import create_dispatcher
from crm.models import Manager
from crm.settings import Settings
from crm.storage import Database

SHELL_FILES = "shell"  # the file_path prefix of the files sent with /file
BOT_USER = User(id=1, is_bot=True, first_name="ChatCRM", username="chatcrm_shell_bot")
TAG = re.compile(r"<[^>]+>")
Printer = Callable[[str], None]
Names = Callable[[int], Awaitable[str | None]]
ESCAPE = "'"  # '5 sends the text 5 instead of pressing button 5; 'text sends text as it is
FILE = "/file"  # /file PATH [caption]: send a file as a document
OTHERS = "  │ "  # the margin of a message to someone else
HELP = (
    "Type commands as in Telegram (/help); a number presses a button "
    "(type '5 to send the text 5); /file PATH sends a file (/file PATH /import imports it); "
    "files the bot sends are saved here; Ctrl-D ends."
)


def plain(html: str) -> str:
    return unescape(TAG.sub("", html))


class ShellSession(BaseSession):
    """Answers the Bot API locally: messages are printed, their buttons remembered.

    The buttons of every message the last input produced for this user are numbered
    1..N together; messages to other chats are printed marked with their addressee, and
    their buttons are shown but cannot be pressed (they are someone else's).
    """

    def __init__(
        self,
        chat: Chat,
        out: Printer,
        names: Names | None = None,
        downloads: Path | None = None,
    ) -> None:
        super().__init__()
        self.chat = chat
        self.out = out
        self.names = names
        self.downloads = downloads  # where the bot's documents are saved (None: the cwd)
        self.files: dict[str, bytes] = {}  # file_id -> content, of the files sent with /file
        self.ids = itertools.count(1)
        self.buttons: list[tuple[str, str, Message]] = []
        self._answer: list[tuple[str, str, Message]] = []
        self._answered = False

    def begin(self) -> None:
        """A new input: the buttons of its answer will be numbered from 1."""
        self._answer = []
        self._answered = False

    def end(self) -> None:
        """The input is answered: its buttons are the ones to press (none if it had none).

        An input that sent this user nothing (only an alert, or messages to others)
        leaves the previous buttons pressable.
        """
        if self._answered:
            self.buttons = self._answer
        self._answer = []
        self._answered = False

    async def _addressee(self, chat_id: int) -> str:
        if self.names is not None:
            with contextlib.suppress(Exception):
                name = await self.names(chat_id)
                if name:
                    return name
        return f"chat {chat_id}"

    async def _show(
        self,
        chat_id: int | str | None,
        text: str,
        markup: Any,
        edited: bool,
        message_id: int | None = None,
    ) -> Message:
        mine = chat_id is None or str(chat_id) == str(self.chat.id)
        other = 0
        if chat_id is not None and not mine and str(chat_id).lstrip("-").isdigit():
            other = int(chat_id)
        keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
        message = Message(
            message_id=message_id if message_id is not None else next(self.ids),
            date=datetime.now(UTC),
            chat=self.chat if mine else Chat(id=other, type="private"),
            from_user=BOT_USER,
            text=text,
            reply_markup=keyboard,
        )
        if not mine:
            who = await self._addressee(other) if other else str(chat_id)
            self.out(f"→ to {who}" + (" (edited):" if edited else ":"))
            for line in plain(text).splitlines() or [""]:
                self.out(OTHERS + line)
            for row in keyboard.inline_keyboard if keyboard else []:
                self.out(OTHERS + "   ".join(f"[{button.text}]" for button in row))
            return message
        self._answered = True
        self.out(("(edited) " if edited else "") + plain(text))
        for row in keyboard.inline_keyboard if keyboard else []:
            labels = []
            for button in row:
                if button.callback_data is None:
                    labels.append(f"[{button.text}: {button.url or ''}]")
                    continue
                self._answer.append((button.text, button.callback_data, message))
                labels.append(f"[{len(self._answer)}] {button.text}")
            self.out("   " + "   ".join(labels))
        return message

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        result = await self._answer_request(bot, method)
        if isinstance(result, Message):  # bound, so that a handler may edit what it sent
            return result.as_(bot)  # type: ignore[return-value]
        return result

    async def _answer_request(self, bot: Bot, method: TelegramMethod[TelegramType]) -> Any:
        if isinstance(method, GetMe):
            return BOT_USER  # type: ignore[return-value]
        if isinstance(method, SendMessage):
            return await self._show(method.chat_id, method.text, method.reply_markup, False)  # type: ignore[return-value]
        if isinstance(method, EditMessageText):
            return await self._show(  # type: ignore[return-value]
                method.chat_id, method.text or "", method.reply_markup, True, method.message_id
            )
        if isinstance(method, EditMessageReplyMarkup):
            return await self._show(  # type: ignore[return-value]
                method.chat_id, "", method.reply_markup, True, method.message_id
            )
        if isinstance(method, SendPhoto | SendDocument):
            caption = method.caption or ""
            kind = "picture" if isinstance(method, SendPhoto) else "file"
            shown = await self._show(
                method.chat_id, f"[{kind}] {caption}", method.reply_markup, False
            )
            if isinstance(method, SendDocument) and shown.chat.id == self.chat.id:
                await self._save(bot, method.document)
            return shown  # type: ignore[return-value]
        if isinstance(method, GetFile):
            if method.file_id not in self.files:
                raise TelegramBadRequest(method, "Bad Request: invalid file_id")
            size = len(self.files[method.file_id])
            return File(  # type: ignore[return-value]
                file_id=method.file_id,
                file_unique_id=method.file_id,
                file_size=size,
                file_path=f"{SHELL_FILES}/{method.file_id}",
            )
        if getattr(method, "text", None) and getattr(method, "show_alert", None) is not None:
            self.out(f"(alert) {method.text}")  # type: ignore[attr-defined]
        return True  # type: ignore[return-value]

    async def _save(self, bot: Bot, document: InputFile | str) -> None:
        """Write a document the bot sent this user to the downloads folder; print where."""
        if isinstance(document, str):  # a file_id: one of ours, or unknown (not saved)
            content = self.files.get(document)
            name = "file"
        else:
            content = b"".join([chunk async for chunk in document.read(bot)])
            name = document.filename or "file"
        if content is None:
            return
        path = free_path(self.downloads or Path.cwd(), name)
        try:
            path.write_bytes(content)
        except OSError as exc:
            self.out(f"(not saved: {exc.strerror or exc})")
            return
        self.out(f"(saved to {path})")

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """The content of a file sent with /file (its file_path ends the URL)."""
        content = self.files.get(url.rsplit("/", 1)[-1], b"")
        for start in range(0, len(content), chunk_size):
            yield content[start : start + chunk_size]


def file_and_caption(argument: str) -> tuple[Path, str | None] | None:
    """The file a `/file` line names and the caption after it: the whole argument if it is a
    file, else its longest beginning (up to a space) that is one; None if none is."""
    cut = len(argument)
    while cut > 0:
        path = Path(argument[:cut].strip()).expanduser()
        if path.is_file():
            return path, argument[cut:].strip() or None
        cut = argument.rfind(" ", 0, cut)
    return None


def free_path(folder: Path, name: str) -> Path:
    """`folder/name`, or `name-1`, `name-2`... if taken: an earlier file is never overwritten."""
    name = Path(name).name or "file"
    path = folder / name
    stem, suffix = path.stem, path.suffix
    for number in itertools.count(1):
        if not path.exists():
            return path
        path = folder / f"{stem}-{number}{suffix}"
    raise AssertionError("unreachable")


class Shell:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        user: User,
        out: Printer = print,
        language: str | None = None,
        downloads: Path | None = None,
    ) -> None:
        """`language` (ru or en), if given, is the session's, whatever the user's stored one;
        `downloads` is where the bot's documents are saved (the working directory if None)."""
        self.user = user
        self.database = database
        self.language = language
        self.chat = Chat(id=user.id, type="private", first_name=user.first_name)
        self.session = ShellSession(self.chat, out, self.staff_name, downloads)
        self.bot = Bot(
            "1:shell", session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self.dp = create_dispatcher(settings, database)
        self.updates = itertools.count(1)
        self.files = itertools.count(1)
        self.out = out

    async def staff_name(self, tg_id: int) -> str | None:
        """ "Ivan Petrov (head)" for a member of staff's chat, None for a stranger's."""
        async with self.database.uow().read_only() as uow:
            row = (
                await uow.session.execute(
                    select(Manager.name, Manager.role).where(Manager.tg_id == tg_id)
                )
            ).first()
        return f"{row.name} ({row.role})" if row else None

    async def say(self, line: str) -> None:
        """A number presses that button of the last answer; `/file PATH` sends a file;
        anything else is a message.

        A quote sends the rest of the line as it is: `'5` the text "5" (for a dialog step
        that wants a number while buttons are shown), `'7,5` the text "7,5", `'/file` the
        text "/file"; when the last answer has no buttons, a number is sent as text anyway.
        """
        line = line.strip()
        if line.startswith(ESCAPE) and len(line) > 1:
            await self._send(line[1:].strip() or ESCAPE)
            return
        if line == FILE or line.startswith(FILE + " "):
            await self.send_file(line[len(FILE) :].strip())
            return
        if line.isdigit() and 1 <= int(line) <= len(self.session.buttons):
            label, data, message = self.session.buttons[int(line) - 1]
            self.out(f"> [{label}]")
            query = CallbackQuery(
                id=str(next(self.updates)),
                from_user=self.user,
                chat_instance="shell",
                message=message,
                data=data,
            )
            await self._feed(Update(update_id=next(self.updates), callback_query=query))
            return
        await self._send(line)

    async def _send(self, text: str) -> None:
        message = Message(
            message_id=next(self.session.ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            text=text,
        )
        await self._feed(Update(update_id=next(self.updates), message=message))

    async def send_file(self, argument: str) -> None:
        """`PATH` or `PATH CAPTION` (e.g. `sales.csv /import`): the file as a document."""
        found = file_and_caption(argument)
        if found is None:
            self.out(f"No such file: {argument}" if argument else "Write /file PATH.")
            return
        path, caption = found
        try:
            content = path.read_bytes()
        except OSError as exc:
            self.out(f"Cannot read {path}: {exc.strerror or exc}")
            return
        file_id = f"shell-file-{next(self.files)}"
        self.session.files[file_id] = content
        document = Document(
            file_id=file_id,
            file_unique_id=file_id,
            file_name=path.name,
            mime_type=mimetypes.guess_type(path.name)[0],
            file_size=len(content),
        )
        message = Message(
            message_id=next(self.session.ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            document=document,
            caption=caption,
        )
        await self._feed(Update(update_id=next(self.updates), message=message))

    async def _feed(self, update: Update) -> None:
        self.session.begin()
        try:
            if self.language is None:
                await self.dp.feed_update(self.bot, update)
            else:
                await self.dp.feed_update(self.bot, update, session_language=self.language)
        finally:
            self.session.end()

    async def close(self) -> None:
        await self.dp.storage.close()
