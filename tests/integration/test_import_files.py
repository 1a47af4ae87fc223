"""Reading import files safely (crm/services/imports/files.py, worker.py): encodings, XLSX
bombs, the worker's memory bound. Each refusal says why and writes nothing. What the user
is told, and the bot answering others during an import: tests/e2e/test_handlers_transfer.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from crm.errors import InvalidInput
from crm.models import Company
from crm.services import imports
from crm.services.imports import Limits
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.import_files import bomb, written

NAMES = ["ООО Ромашка", "ЗАО Лютик", "ИП Пётр Сидоров", 'АО "Север-Юг"']
TEXT = "Название;Отрасль\n" + "".join(f"{n};Розница\n" for n in NAMES)


@pytest.mark.parametrize(
    "content",
    [
        TEXT.encode("utf-8"),
        TEXT.encode("utf-8-sig"),
        TEXT.replace(";", "\t").encode("utf-16"),  # Excel's "Unicode text": UTF-16 LE, tabs
        TEXT.encode("cp1251"),
        TEXT.encode("koi8_r"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-bom", "cp1251", "koi8-r"],
)
async def test_russian_in_every_usual_encoding(db: Database, content: bytes) -> None:
    anna = await factories.staff(db)
    report = await imports.import_file(db.uow(), anna, "clients.csv", content)
    assert (report.kind, report.created, report.rejected) == ("companies", 4, [])
    async with db.uow() as uow:
        names = list(await uow.session.scalars(select(Company.name).order_by(Company.id)))
    assert names == NAMES


@pytest.mark.parametrize(
    ("content", "reason", "params"),
    [
        (
            "Όνομα;Πόλη\nΑθήνα Εμπόριο;Αθήνα\nΘεσσαλονίκη ΑΕ;Θεσσαλονίκη\n".encode("cp1253"),
            "encoding",
            {"encoding": "cp1253"},
        ),
        (
            "名前;都市\n東京商事;東京\n大阪産業;大阪\n".encode("shift_jis"),
            "encoding",
            {"encoding": "cp932"},
        ),
        (
            "Название;ИНН\nООО Ромашка;\n".encode() + "ЗАО Лютик;\n".encode("cp1251"),
            "mixed_encoding",
            {"encoding": "utf-8", "row": 3},
        ),
        (  # the other encoding far beyond what the detector samples
            TEXT.encode() + "Компания;Опт\n".encode() * 30_000 + "ЗАО Лютик;Опт\n".encode("cp1251"),
            "mixed_encoding",
            {"encoding": "utf-8", "row": 30_006},
        ),
    ],
    ids=["greek", "japanese", "mixed", "mixed-far-down"],
)
async def test_foreign_and_mixed_encodings_are_refused(
    db: Database, content: bytes, reason: str, params: dict[str, object]
) -> None:
    anna = await factories.staff(db)
    with pytest.raises(InvalidInput) as caught:
        await imports.import_file(db.uow(), anna, "clients.csv", content)
    assert (caught.value.field, caught.value.reason) == ("file", reason)
    assert {k: caught.value.params[k] for k in params} == params
    assert await written(db) == (0, 0)


async def test_an_xlsx_bomb_is_refused_before_parsing(db: Database) -> None:
    anna = await factories.staff(db)
    content = bomb()
    assert len(content) < 1024 * 1024
    with pytest.raises(InvalidInput) as caught:
        await imports.import_file(db.uow(), anna, "bomb.xlsx", content)
    assert (caught.value.field, caught.value.reason) == ("file", "bomb")
    assert caught.value.params["size_mb"] >= 60
    # the declared sizes alone give it away when they pass the bound
    small = Limits(max_bytes=None, xlsx_uncompressed=10 * 1024**2, xlsx_ratio=10**9)
    with pytest.raises(InvalidInput) as caught:
        await imports.import_file(db.uow(), anna, "bomb.xlsx", content, limits=small)
    assert (caught.value.reason, caught.value.params["max_mb"]) == ("bomb", 10)
    assert await written(db) == (0, 0)


@pytest.fixture(scope="module")
def many_strings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a million distinct strings in one sheet (made once for both databases)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["Название"])
    for i in range(500_000):
        sheet.append([f"Компания номер {i:07d} с длинным названием"])
    path = tmp_path_factory.mktemp("xlsx") / "many.xlsx"
    book.save(path)
    return path


async def test_the_worker_has_a_memory_bound(db: Database, many_strings: Path) -> None:
    """Half a million distinct shared strings are fine by size and ratio, but openpyxl
    keeps them all: with 48 MB to spare the worker gives up, and nothing is written."""
    path = many_strings
    anna = await factories.staff(db)
    tight = Limits(memory=48 * 1024**2, xlsx_ratio=10**6, shared_strings=10**10)
    with pytest.raises(InvalidInput) as caught:
        await imports.import_path(db.uow(), anna, path, limits=tight)
    assert (caught.value.field, caught.value.reason) == ("file", "too_big")
    assert caught.value.params["max_mb"] == 48
    assert await written(db) == (0, 0)
