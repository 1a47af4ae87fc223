"""A CSV or XLSX file sent without /import: offered to be imported, not "I did not
understand". The file waits in the import dialog's state until a button says what it holds
(or "recognise it"); sending it again, or another file, imports that one as /import does."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.services import imports
from handlers.transfer.importing import (
    EXTENSIONS,
    KIND_BUTTONS,
    SENT_EARLIER,
    ImportCb,
    ImportForm,
)
from handlers.ui import button, h


async def stray_file(message: Message, actor: Actor, state: FSMContext) -> None:
    document = message.document
    assert document is not None
    await state.set_state(ImportForm.file)
    await state.set_data(
        {
            "kind": None,
            SENT_EARLIER: document.model_dump(
                include={"file_id", "file_unique_id", "file_name", "file_size"}
            ),
        }
    )
    kb = InlineKeyboardBuilder()
    kb.row(button("📥 " + _("Import it"), ImportCb(action="earlier")))
    kb.row(
        *(
            button(_(KIND_BUTTONS[kind]), ImportCb(action="kind", kind=kind))
            for kind in imports.allowed_kinds(actor)
        )
    )
    kb.row(button(_("Cancel"), ImportCb(action="cancel")))
    await message.answer(
        _(
            "Import {name}? I will recognise whether it holds companies, contacts or sales; "
            "or say which."
        ).format(name=f"<b>{h(document.file_name or '')}</b>"),
        reply_markup=kb.as_markup(),
    )


def _importable(document: object) -> bool:
    name = (getattr(document, "file_name", None) or "").lower()
    return name.endswith(EXTENSIONS)


def setup() -> Router:
    router = Router(name="transfer.stray")
    router.message.register(
        stray_file, StateFilter(None), F.document.func(_importable), ~F.caption.startswith("/")
    )
    return router
