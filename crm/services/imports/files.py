"""Reading an import file safely: its encoding, XLSX bombs, and its rows one at a time.

Encodings: a BOM says UTF-8 or UTF-16; else a text that decodes as UTF-8 is UTF-8; else
`charset-normalizer` is asked to choose between CP1251 and KOI8-R (the encodings Russian
spreadsheets and 1C exports come in) and the text must then read as Cyrillic or Latin
letters with little "chaos". A file that does neither is refused, naming the encoding
the detector thinks it is in (Greek cp1253, Japanese cp932…). The whole file is decoded
strictly as it is read: bytes of another encoding further down (a mixed file) refuse
the file with the line they are on, before anything is written.

XLSX bombs: an .xlsx is a zip of XML. Before openpyxl sees it, every member's declared
size is added up and its ratio to the compressed size checked, and then every member is
inflated once, in chunks and without keeping it, so that a member that lies about its
size is caught too. openpyxl's read-only mode streams the rows, but loads the shared
strings whole: their size has a bound of its own.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.errors import InvalidInput

CSV_EXTENSIONS = (".csv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
SAMPLE = 256 * 1024
RUSSIAN_ENCODINGS = ["cp1251", "koi8_r"]
MAX_CHAOS = 0.1
PLAIN_LETTERS = re.compile(r"[A-Za-zÀ-ɏЀ-ӿ]")  # Latin (with accents) and Cyrillic
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Limits:
    """What a file may cost to read. The bot's are small; the command line's generous."""

    max_bytes: int | None = None  # the file itself
    xlsx_uncompressed: int = 4 * 1024**3  # all members of an XLSX inflated
    xlsx_ratio: int = 100  # inflated / compressed, for members over 1 MB inflated
    shared_strings: int = 512 * 1024**2  # openpyxl keeps these in memory
    memory: int | None = None  # address space of the worker process that parses


BOT_LIMITS = Limits(
    max_bytes=20 * 1024**2,  # what Telegram lets a bot download
    xlsx_uncompressed=400 * 1024**2,
    xlsx_ratio=100,
    shared_strings=48 * 1024**2,
    memory=256 * 1024**2,
)
CLI_LIMITS = Limits()


# --- encodings -------------------------------------------------------------------------------


def plausible(text: str) -> bool:
    """Mostly Latin or Cyrillic letters, and no control characters but tabs and newlines."""
    letters = LETTER.findall(text)
    if any(ch < " " and ch not in "\t\r\n" for ch in text) or "\ufffd" in text:
        return False
    if not letters:
        return True
    plain = sum(1 for ch in letters if PLAIN_LETTERS.match(ch))
    return plain >= 0.95 * len(letters)


def detect_encoding(sample: bytes) -> str:
    """The encoding to read a text file in; InvalidInput("file", "encoding") if none fits."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        before = sample[: exc.start]
        if any(b >= 0x80 for b in before):  # real UTF-8 text, then bytes of another encoding
            raise InvalidInput(
                "file", "mixed_encoding", encoding="utf-8", row=before.count(b"\n") + 1
            ) from exc
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=RUSSIAN_ENCODINGS).best()
    if best is not None and best.chaos <= MAX_CHAOS and plausible(str(best)):
        return best.encoding
    guess = from_bytes(sample).best()
    name = guess.encoding if guess is not None else "binary"
    raise InvalidInput("file", "encoding", encoding=name)


@dataclass
class Position:
    """How far through the file the reader is, 0..1 (None: cannot tell)."""

    fraction: float | None = None


def _text_lines(path: Path, position: Position) -> Iterator[tuple[int, list[str]]]:
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE)
    encoding = detect_encoding(sample)
    with path.open("r", encoding=encoding, newline="", errors="strict") as text:
        head = text.read(64 * 1024)
        text.seek(0)
        reader = csv.reader(text, _dialect(head.lstrip("\ufeff")))
        size = max(path.stat().st_size, 1)
        start = 1
        try:
            for cells in reader:
                if start == 1 and cells and cells[0].startswith("\ufeff"):
                    cells[0] = cells[0][1:]
                yield start, cells
                start = reader.line_num + 1
                if start % 1000 == 0:
                    position.fraction = min(raw_position(text) / size, 1.0)
        except UnicodeDecodeError as exc:
            row = _first_bad_line(path, encoding)
            raise InvalidInput("file", "mixed_encoding", encoding=encoding, row=row) from exc
        except csv.Error as exc:
            raise InvalidInput("file", "unreadable") from exc


def raw_position(text: Any) -> int:
    """Bytes of the file read so far under a text stream (read ahead by a chunk)."""
    return int(text.buffer.tell())


def _first_bad_line(path: Path, encoding: str) -> int:
    """The line (1-based) of the first bytes that do not decode, found by reading again."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 1
    with path.open("rb") as raw:
        while chunk := raw.read(1024 * 1024):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return lines + chunk[: max(exc.start, 0)].count(b"\n")
            lines += chunk.count(b"\n")
    return lines


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The sniffed dialect; the header's own delimiter wins when the sniffer guesses another
    (a comma inside values of a `;` file), and plain counting when it cannot tell."""
    first = text.split("\n", 1)[0]
    by_header = max(";,\t", key=first.count)
    try:
        dialect = csv.Sniffer().sniff(text, delimiters=";,\t")
        if first.count(dialect.delimiter) or not first.count(by_header):
            return dialect
    except csv.Error:
        pass

    class Fallback(csv.excel):
        delimiter = by_header

    return Fallback


# --- XLSX ------------------------------------------------------------------------------------


def _inflated_size(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> int:
    """The real inflated size of a member, read in chunks and thrown away; stops past `cap`.
    zipfile itself stops at the declared size and checks the CRC, so a member whose
    declared size lies is refused as unreadable."""
    total = 0
    with archive.open(info) as stream:
        while chunk := stream.read(1024 * 1024):
            total += len(chunk)
            if total > cap:
                break
    return total


def check_xlsx(path: Path, limits: Limits) -> None:
    """Refuse an XLSX whose inflated size or compression ratio is out of bounds."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput("file", "unreadable") from exc
    with archive:
        members = archive.infolist()
        declared = sum(m.file_size for m in members)
        if declared > limits.xlsx_uncompressed:
            raise InvalidInput(
                "file",
                "bomb",
                size_mb=declared // 1024**2,
                max_mb=limits.xlsx_uncompressed // 1024**2,
            )
        total = 0
        for member in members:
            try:
                size = _inflated_size(archive, member, limits.xlsx_uncompressed - total)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
                raise InvalidInput("file", "unreadable") from exc
            total += size
            ratio = size / max(member.compress_size, 1)
            if total > limits.xlsx_uncompressed or (size > 1024**2 and ratio > limits.xlsx_ratio):
                raise InvalidInput(
                    "file",
                    "bomb",
                    size_mb=max(total, size) // 1024**2,
                    max_mb=limits.xlsx_uncompressed // 1024**2,
                )
            if member.filename.endswith("sharedStrings.xml") and size > limits.shared_strings:
                raise InvalidInput(
                    "file", "bomb", size_mb=size // 1024**2, max_mb=limits.shared_strings // 1024**2
                )


def _xlsx_lines(
    path: Path, limits: Limits, position: Position
) -> Iterator[tuple[int, Sequence[Any]]]:
    check_xlsx(path, limits)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput("file", "unreadable") from exc
    try:
        if not workbook.worksheets:
            raise InvalidInput("file", "empty")
        sheet = workbook.worksheets[0]
        last = sheet.max_row if isinstance(sheet.max_row, int) and sheet.max_row > 0 else None
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            if last is not None and number % 1000 == 0:
                position.fraction = min(number / last, 1.0)
            yield number, cells
    finally:
        workbook.close()


# --- rows ------------------------------------------------------------------------------------


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def rows(
    path: Path, filename: str, limits: Limits, position: Position | None = None
) -> Iterator[tuple[int, Sequence[Any]]]:
    """The non-blank rows of the file with their numbers in it (the header is the first)."""
    position = position or Position()
    if limits.max_bytes is not None and path.stat().st_size > limits.max_bytes:
        raise InvalidInput("file", "too_large", max_mb=limits.max_bytes // 1024**2)
    name = filename.lower()
    if name.endswith(CSV_EXTENSIONS):
        lines: Iterator[tuple[int, Sequence[Any]]] = _text_lines(path, position)
    elif name.endswith(XLSX_EXTENSIONS):
        lines = _xlsx_lines(path, limits, position)
    else:
        raise InvalidInput("file", "unsupported_format")
    for number, cells in lines:
        if not _blank(cells):
            yield number, cells


def header_of(cells: Sequence[Any]) -> list[str]:
    return [str(c).strip() if c is not None else "" for c in cells]
