"""The files themselves: the bookings CSV (quoting, formula injection), the PDF roster (content
read back with pypdf, a page rendered with pdfium) and the roster image (size, a real look)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pypdfium2
import pytest
from PIL import Image
from pypdf import PdfReader

from skyslots.db import Database, utcnow
from skyslots.exports.csv_file import COLUMNS, bookings_csv
from skyslots.exports.data import BookingLine, ExportData, export_data
from skyslots.exports.pdf import roster_pdf
from skyslots.exports.png import HEIGHT, WIDTH, roster_png
from tests.exports_support import NAMES, roster_event
from tests.helpers import make_account


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url  # the files do not depend on the engine (the API tests run on both)


@pytest.fixture
async def data(client: httpx.AsyncClient, db: Database) -> ExportData:
    organizer = await make_account(db, client, email="org@example.com")
    event = await roster_event(client, organizer)
    return await db.read(export_data, event_id=event["id"])


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


async def test_csv_lists_every_booking_claimed_and_released(data: ExportData) -> None:
    file = bookings_csv(data.bookings)
    assert file.startswith(",".join(COLUMNS).encode() + b"\r\n")
    rows = rows_of(file)
    assert [(r["callsign"], r["status"]) for r in rows] == [
        ("EGLLTWR", "claimed"), ("BAW1", "claimed"), ("BAW2", "claimed"), ("BAW3", "claimed"),
        ("BAW4", "released"),
    ]  # fmt: skip
    zoe = rows[0]
    assert zoe["name"] == "Zoë Ångström" and zoe["email"] == "zoe@example.com"
    assert zoe["position_name"] == "EGLL_TWR" and zoe["start_time"].endswith("Z")
    assert rows[4]["released_at"].endswith("Z") and rows[1]["released_at"] == ""
    assert rows[1]["slot_time"] and rows[1]["origin_icao"] == "EGLL"


async def test_csv_neutralises_formulas(data: ExportData) -> None:
    rows = rows_of(bookings_csv(data.bookings))
    names = {r["callsign"]: r["name"] for r in rows}
    assert names["BAW1"] == '\'=HYPERLINK("http://evil")'
    assert names["BAW2"] == "'+44 20 7946 0000"
    assert names["BAW3"] == "'-Minus"
    assert names["BAW4"] == "'@mention"
    # Quoting per RFC 4180: the quotes inside the cell are doubled, the cell quoted.
    assert b'"\'=HYPERLINK(""http://evil"")"' in bookings_csv(data.bookings)


def test_csv_guards_every_text_cell() -> None:
    now = utcnow()
    line = BookingLine(
        booking_id=1, position_name="=cmd|' /C calc'!A0", position_type="PILOT",
        start_time=None, end_time=None, slot_time=now, origin_icao=None, destination_icao=None,
        callsign="BAW1", name="a,b\nc", email="@x@example.com", status="claimed", claimed_at=now,
        released_at=None, notes="\t=1+1",
    )  # fmt: skip
    row = rows_of(bookings_csv([line]))[0]
    assert row["position_name"] == "'=cmd|' /C calc'!A0"
    assert row["email"] == "'@x@example.com"
    assert row["notes"] == "'\t=1+1"
    assert row["name"] == "a,b\nc"  # quoted, not split
    assert row["booking_id"] == "1"


def pdf_text(document: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


async def test_pdf_roster_content(data: ExportData) -> None:
    document = roster_pdf(data, now=utcnow())
    reader = PdfReader(io.BytesIO(document))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # A4 landscape
    text = pdf_text(document)
    assert "Heathrow Evening Rush" in text and "EGLL" in text
    assert "Zoë Ångström" in text
    assert "EGLL_TWR" in text and "EGLL_GND" in text and "ATC" in text and "Pilots" in text
    assert "BAW1" in text and "KJFK" in text and "B77W" in text
    assert "BAW4" not in text  # released: the roster shows the slot free
    assert f"Page 1 of {len(reader.pages)}" in text


async def test_pdf_has_page_numbers_on_every_page(
    client: httpx.AsyncClient, db: Database, data: ExportData
) -> None:
    pilots = [s for s in data.event.slots if s.position_type == "PILOT"]
    many = data.event.model_copy(update={"slots": data.event.slots * 3 + pilots * 40})
    document = roster_pdf(ExportData(many, data.version, data.bookings), now=utcnow())
    pages = PdfReader(io.BytesIO(document)).pages
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page.extract_text()


def ink(image: Image.Image) -> float:
    """The share of pixels that differ from the top-left one (the background)."""
    rgb = image.convert("RGB")
    background = rgb.getpixel((0, 0))
    pixels = rgb.get_flattened_data() if hasattr(rgb, "get_flattened_data") else rgb.getdata()
    return sum(1 for p in pixels if p != background) / (rgb.width * rgb.height)


async def test_pdf_page_renders_with_a_look(data: ExportData, tmp_path: Any) -> None:
    document = pypdfium2.PdfDocument(roster_pdf(data, now=utcnow()))
    page = document[0].render(scale=1).to_pil()
    page.save(tmp_path / "page1.png")
    width, height = page.size
    assert width == 842 and height in (595, 596)  # A4 landscape in points, rounded up
    assert 0.01 < ink(page) < 0.5  # text and a grid, not a blank or a black page


async def test_png_roster_image(data: ExportData, tmp_path: Any) -> None:
    (tmp_path / "roster.png").write_bytes(roster_png(data, now=utcnow()))
    image = Image.open(tmp_path / "roster.png")
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT) == (1200, 630)
    assert 0.05 < ink(image) < 0.6
    # The claimed TWR block is drawn green somewhere in the grid.
    colours = {colour for _count, colour in image.convert("RGB").getcolors(1_000_000) or []}
    assert (22, 163, 74) in colours


async def test_png_with_long_names_and_no_slots(
    client: httpx.AsyncClient, db: Database, data: ExportData
) -> None:
    empty = data.event.model_copy(update={"slots": [], "title": "Ünïcode " * 30})
    image = Image.open(io.BytesIO(roster_png(ExportData(empty, 0, []), now=utcnow())))
    assert image.size == (1200, 630)
    assert NAMES  # the support module's names are the ones the CSV test checks
