"""/import: a CSV or XLSX file of companies, contacts or sales.

`/import` asks what the file holds (companies, contacts, sales for heads and directors)
or takes the file at once and recognises it from its header; `/import contacts` names
the kind in one line, and a document sent with the caption `/import` is imported
straight away. Anything but a usable file gets a polite word and the dialog keeps
waiting until a file comes or Cancel is pressed. The report lists the rejected rows
with their numbers in the file and the reasons. Files are bounded by what Telegram lets
a bot download (20 MB); an import that takes a while shows its progress in one message,
edited every few seconds, which then becomes the report. The file is read in a worker
process (crm/services/imports), so the bot keeps answering everyone meanwhile.
"""

from __future__ import annotations

import io
import time

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Document,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.services import imports
from crm.services.imports import ImportReport, Rejected
from crm.uow import UnitOfWork
from handlers.dialog import cancel as cancel_dialog
from handlers.dialog import over
from handlers.errors import describe, field_name
from handlers.ui import button, h, show
from handlers.words import N_

REJECTED_SHOWN = 20
MAX_MB = imports.MAX_BYTES // (1024 * 1024)
EXTENSIONS = imports.CSV_EXTENSIONS + imports.XLSX_EXTENSIONS

KIND_BUTTONS: dict[str, str] = {
    "companies": N_("🏢 Companies"),
    "contacts": N_("👤 Contacts"),
    "sales": N_("💰 Sales"),
}
KIND_NAMES: dict[str, str] = {
    "companies": N_("companies"),
    "contacts": N_("contacts"),
    "sales": N_("sales"),
}
FILE_REASONS: dict[str, str] = {
    "too_large": N_(
        "This file is larger than {max_mb} MB, the most Telegram lets a bot download: split it, "
        "or import it on the server with chatcrm import."
    ),
    "bomb": N_(
        "This XLSX unpacks to {size_mb} MB or more (at most {max_mb} MB may be read): it looks "
        "like a file made to exhaust memory. Save the table again, or as CSV."
    ),
    "too_big": N_(
        "Reading this file needs more than {max_mb} MB of memory: split it, save it as CSV, "
        "or import it on the server with chatcrm import."
    ),
    "encoding": N_(
        "The text of this file is not Russian or English in any encoding I know: it looks like "
        "{encoding}. Save it as CSV UTF-8 (or Windows-1251) and send it again."
    ),
    "mixed_encoding": N_(
        "Row {row} of this file is in another encoding than the rows before it ({encoding}): "
        "save the whole file in one encoding, e.g. CSV UTF-8."
    ),
    "unsupported_format": N_("I read only CSV and XLSX files: save the table in one of them."),
    "unreadable": N_("I could not read this file: save it again as CSV or XLSX and resend."),
    "empty": N_("This file is empty."),
    "bad_header": N_(
        "I did not recognise the columns. The first row must name them, e.g. "
        "“Name; INN; Industry; Territory” for companies, “Name; Phone; Email; Position; "
        "Company” for contacts, “Date; Company; Amount; Number” for sales."
    ),
}
# the reasons of a rejected row that read better with words of their own
ROW_REASONS: dict[tuple[str, str], str] = {
    ("amount", "not_positive"): N_("must be more than zero."),
    ("quantity", "not_positive"): N_("must be more than zero."),
    ("company", "not_found"): N_("no such company among those you see."),
    ("date", "invalid"): N_("write the date as dd.mm.yyyy or yyyy-mm-dd."),
    ("paid_on", "invalid"): N_("write the date as dd.mm.yyyy or yyyy-mm-dd."),
}


class ImportForm(StatesGroup):
    file = State()


class ImportCb(CallbackData, prefix="imp"):
    action: str  # kind | earlier | cancel
    kind: str = ""


def kinds_markup(actor: Actor) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        *(
            button(_(KIND_BUTTONS[kind]), ImportCb(action="kind", kind=kind))
            for kind in imports.allowed_kinds(actor)
        )
    )
    kb.row(button(_("Cancel"), ImportCb(action="cancel")))
    return kb.as_markup()


def cancel_markup() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(button(_("Cancel"), ImportCb(action="cancel")))
    return kb.as_markup()


def file_rules() -> str:
    return _("CSV or XLSX, up to {max_mb} MB, the column names in the first row.").format(
        max_mb=MAX_MB
    )


def ask_file_text(kind: str) -> str:
    return _("Send the file of {kind}: {rules}").format(
        kind=_(KIND_NAMES[kind]), rules=file_rules()
    )


async def import_with_caption(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    state: FSMContext,
) -> None:
    """A document sent with the caption `/import [kind]`: imported at once (a kind that is
    not allowed or not known: recognised from the file's header instead)."""
    try:
        kind = _kind_arg(actor, command.args)
    except (AccessDenied, InvalidInput):
        kind = None
    await state.set_state(ImportForm.file)
    await state.set_data({"kind": kind})
    await take_file(message, uow, actor, bot, state)


def _kind_arg(actor: Actor, args: str | None) -> str | None:
    if not args or not args.strip():
        return None
    word = args.strip().lower()
    for kind in imports.KINDS:
        if word in (kind, _(KIND_NAMES[kind]).lower()):
            if kind not in imports.allowed_kinds(actor):
                raise AccessDenied("import")
            return kind
    raise InvalidInput("kind", "unknown_value", allowed=list(imports.allowed_kinds(actor)))


async def start_import(
    message: Message, command: CommandObject, actor: Actor, state: FSMContext
) -> None:
    notice = ""
    try:
        kind = _kind_arg(actor, command.args)
    except AccessDenied:
        kind, notice = None, _("Only heads and directors import sales.") + "\n"
    except InvalidInput:
        kind = None
        notice = _("I do not know what “{text}” is.").format(text=h((command.args or "")[:50]))
        notice += "\n"
    await state.set_state(ImportForm.file)
    await state.set_data({"kind": kind})
    if kind is not None:
        await message.answer(ask_file_text(kind), reply_markup=cancel_markup())
        return
    await message.answer(
        notice
        + _("What do you import? Choose, or just send the file and I will recognise it.")
        + "\n"
        + file_rules(),
        reply_markup=kinds_markup(actor),
    )


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await cancel_dialog(callback, state)


async def choose_kind(
    callback: CallbackQuery,
    callback_data: ImportCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    state: FSMContext,
) -> None:
    kind = callback_data.kind
    if kind not in imports.allowed_kinds(actor):
        raise AccessDenied("import")
    await state.update_data(kind=kind)
    if (await state.get_data()).get(SENT_EARLIER):  # a file sent before /import: import it
        await import_sent_earlier(callback, uow, actor, bot, state)
        return
    await show(callback, ask_file_text(kind), cancel_markup())
    await callback.answer()


SENT_EARLIER = "sent_earlier"  # the document a file sent without /import left in the state


async def import_sent_earlier(
    callback: CallbackQuery, uow: UnitOfWork, actor: Actor, bot: Bot, state: FSMContext
) -> None:
    """Import the file that came without /import (handlers/transfer/stray.py kept it)."""
    earlier = (await state.get_data()).get(SENT_EARLIER)
    if not earlier or not isinstance(callback.message, Message):
        await over(callback, "/import")
        return
    await callback.answer()
    await show(callback, _("⏳ Importing {name}…").format(name=h(earlier["file_name"])))
    document = Document.model_validate(earlier)
    await take_file(callback.message, uow, actor, bot, state, document)


def _usable(document: Document) -> str | None:
    """Why a document cannot be imported, or None if it may be."""
    name = (document.file_name or "").lower()
    if not name.endswith(EXTENSIONS):
        return file_refused("unsupported_format")
    if document.file_size is not None and document.file_size > imports.MAX_BYTES:
        return file_refused("too_large", max_mb=MAX_MB)
    return None


def file_refused(code: str, **params: object) -> str:
    msgid = FILE_REASONS.get(code, FILE_REASONS["unreadable"])
    return _(msgid).format(**params)


async def take_file(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    state: FSMContext,
    document: Document | None = None,
) -> None:
    """Import the message's document (or `document`, a file sent earlier; the answers then
    go to `message`'s chat)."""
    document = document or message.document
    assert document is not None
    refused = _usable(document)
    if refused is not None:
        await message.answer(
            refused + "\n" + _("Send another file, or press Cancel."), reply_markup=cancel_markup()
        )
        return
    try:
        downloaded = await bot.download(document, destination=io.BytesIO())
    except TelegramAPIError:
        await message.answer(
            _("I could not get this file from Telegram. Please send it again."),
            reply_markup=cancel_markup(),
        )
        return
    assert downloaded is not None
    kind = (await state.get_data()).get("kind")
    shown = ImportProgress(message)
    try:
        report = await imports.import_file(
            uow,
            actor,
            document.file_name or "file",
            downloaded.read(),
            kind,
            limits=imports.BOT_LIMITS,
            progress=shown.update,
        )
    except InvalidInput as exc:
        if exc.field != "file":
            raise
        params = {k: v for k, v in exc.params.items() if k not in ("field", "reason")}
        text = file_refused(exc.reason, **params)
        await shown.finish(
            text + "\n" + _("Nothing was imported. Send another file, or press Cancel."),
            reply_markup=cancel_markup(),
        )
        return
    except AccessDenied:
        await shown.finish(
            _("Only heads and directors import sales. Send another file, or press Cancel."),
            reply_markup=cancel_markup(),
        )
        return
    await state.clear()
    await shown.finish(render_report(report))


class ImportProgress:
    """One message that shows how far a long import is, edited every few seconds, and then
    becomes its outcome; a short import just answers once."""

    AFTER = 2.0  # seconds before the first word
    EVERY = 3.0  # seconds between edits (Telegram allows about one message a second a chat)

    def __init__(self, message: Message) -> None:
        self.message = message
        self.started = time.monotonic()
        self.last = 0.0
        self.shown: Message | None = None

    async def update(self, rows: int, fraction: float | None) -> None:
        now = time.monotonic()
        if now - self.started < self.AFTER or now - self.last < self.EVERY:
            return
        self.last = now
        text = _("⏳ Importing: {rows} rows read").format(rows=f"{rows:,}".replace(",", " "))
        if fraction is not None:
            text += f" ({fraction * 100:.0f} %)"
        try:
            if self.shown is None:
                self.shown = await self.message.answer(text)
            else:
                await self.shown.edit_text(text)
        except TelegramAPIError:
            pass  # progress is a courtesy: the import goes on

    async def finish(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
        if self.shown is not None:
            try:
                await self.shown.edit_text(text, reply_markup=reply_markup)
                return
            except TelegramAPIError:
                pass
        await self.message.answer(text, reply_markup=reply_markup)


async def not_a_file(message: Message) -> None:
    await message.answer(
        _("Please send the table as a file (a document): {rules} Or press Cancel.").format(
            rules=file_rules()
        ),
        reply_markup=cancel_markup(),
    )


def row_reason(item: Rejected) -> str:
    if item.reason == "already_served":
        return _("this client is already served by {curator} ({department}).").format(**item.params)
    msgid = ROW_REASONS.get((item.field, item.reason))
    if msgid:
        return f"{field_name(item.field)}: {_(msgid)}"
    return describe(InvalidInput(item.field, item.reason, **item.params))


def render_report(report: ImportReport, shown: int | None = REJECTED_SHOWN) -> str:
    """The report of an import; at most `shown` rejected rows are listed (None: all)."""
    lines = [
        _("<b>Import of {kind}</b> — rows read: {rows}").format(
            kind=_(KIND_NAMES[report.kind]), rows=report.rows
        ),
        _("✅ Added: {count}").format(count=report.created),
        _("↩ Already there, skipped: {count}").format(count=report.skipped_duplicates),
    ]
    if report.companies_created:
        lines.append(_("🏢 New companies: {count}").format(count=report.companies_created))
    if report.paid_marked:
        lines.append(_("💰 Marked paid: {count}").format(count=report.paid_marked))
    if report.rejected:
        lines.append(_("❌ Rejected: {count}").format(count=len(report.rejected)))
        for item in report.rejected[:shown]:
            lines.append(
                _("• row {row}: {reason}").format(row=item.row, reason=h(row_reason(item)))
            )
        if shown is not None and len(report.rejected) > shown:
            lines.append(_("…and {count} more").format(count=len(report.rejected) - shown))
        lines.append(_("Correct these rows and import the file again: added rows are skipped."))
    if report.ignored_columns:
        lines.append(
            _("Columns not used: {names}").format(names=h(", ".join(report.ignored_columns)))
        )
    return "\n".join(lines)


def setup() -> Router:
    router = Router(name="transfer.importing")
    router.message.register(import_with_caption, Command("import"), F.document)
    router.message.register(start_import, Command("import"))
    router.callback_query.register(cancel, ImportCb.filter(F.action == "cancel"))
    router.callback_query.register(
        choose_kind, ImportForm.file, ImportCb.filter(F.action == "kind")
    )
    router.callback_query.register(
        import_sent_earlier, ImportForm.file, ImportCb.filter(F.action == "earlier")
    )
    router.message.register(take_file, ImportForm.file, F.document)
    router.message.register(not_a_file, ImportForm.file, ~F.text.startswith("/"))
    return router
