"""The printable roster for the controllers' briefing: A4 landscape, the event's header, the ATC
grid by position and time block, the pilot list by slot time, page numbers (fpdf2)."""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from skyslots.exports.data import ExportData
from skyslots.exports.fonts import BOLD, REGULAR
from skyslots.exports.labels import block_label, event_when, occupant, zulu
from skyslots.slots.schemas import SlotPublic
from skyslots.web.grid import Roster, build_roster

FONT = "DejaVu"
MAX_IN_CELL = 3
BLOCKS_PER_TABLE = 6  # more time blocks continue in a second grid below
HEADING = FontFace(emphasis="BOLD", fill_color=(225, 230, 240))
PILOT_COLUMNS = ("Slot time", "Position", "From", "To", "Aircraft", "Callsign", "Name")
PILOT_WIDTHS = (22, 60, 18, 18, 22, 30, 103)  # relative: the table spans the page


class RosterPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.roster_title = title
        self.add_font(FONT, "", str(REGULAR))
        self.add_font(FONT, "B", str(BOLD))
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(auto=True, margin=14)
        self.set_title(title)
        self.set_creator("SkySlots")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.roster_title, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _heading(pdf: RosterPdf, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8.5)


def _cell(slots: list[SlotPublic]) -> str:
    """Each occupant's callsign and name; a crowded cell says how many more (a row must fit)."""
    shown = ["\n".join(occupant(s)).strip() for s in slots[:MAX_IN_CELL]]
    if len(slots) > MAX_IN_CELL:
        shown.append(f"+{len(slots) - MAX_IN_CELL} more")
    return "\n".join(shown) or "\u2014"


def _atc_grid(pdf: RosterPdf, roster: Roster) -> None:
    if not roster.rows:
        return
    _heading(pdf, "ATC")
    for first in range(0, len(roster.blocks), BLOCKS_PER_TABLE):
        blocks = roster.blocks[first : first + BLOCKS_PER_TABLE]
        with pdf.table(
            col_widths=(45, *([(pdf.epw - 45) / BLOCKS_PER_TABLE] * len(blocks))),
            width=min(pdf.epw, 45 + (pdf.epw - 45) * len(blocks) / BLOCKS_PER_TABLE),
            align="LEFT",
            headings_style=HEADING,
            line_height=4.5,
            text_align="LEFT",
        ) as table:
            header = table.row()
            header.cell("Position")
            for block in blocks:
                header.cell(block_label(block.start, block.end))
            for atc in roster.rows:
                row = table.row()
                row.cell(f"{atc.position}\n{atc.position_type}")
                for block in blocks:
                    slots = atc.cells.get(block, [])
                    row.cell(_cell(slots))
        pdf.ln(2)


ROW_HEIGHT = 5.0


def _fit(pdf: RosterPdf, text: str, width: float) -> str:
    """`text` cut (with an ellipsis) to one line of `width` mm."""
    room = width - 2 * pdf.c_margin
    if pdf.get_string_width(text) <= room:
        return text
    while text and pdf.get_string_width(text + "\u2026") > room:
        text = text[:-1]
    return text + "\u2026"


def _pilot_header(pdf: RosterPdf, widths: list[float]) -> None:
    pdf.set_font(FONT, "B", 8.5)
    pdf.set_fill_color(225, 230, 240)  # as HEADING (the ATC grid's table headings)
    for label, width in zip(PILOT_COLUMNS, widths, strict=True):
        pdf.cell(width, ROW_HEIGHT, label, border="B", fill=True)
    pdf.ln(ROW_HEIGHT)
    pdf.set_font(FONT, "", 8.5)


def _pilots(pdf: RosterPdf, roster: Roster) -> None:
    """One line per pilot slot, the header again on every page: plain cells rather than fpdf2's
    table (whose per-cell line breaking took seconds at 2,000 rows)."""
    if not roster.pilots:
        return
    _heading(pdf, "Pilots")
    widths = [pdf.epw * w / sum(PILOT_WIDTHS) for w in PILOT_WIDTHS]
    pdf.set_draw_color(210, 214, 222)
    _pilot_header(pdf, widths)
    for slot in roster.pilots:
        callsign, name = occupant(slot)
        block = slot.start_time and slot.end_time
        when = zulu(slot.slot_time) or (
            block_label(slot.start_time, slot.end_time) if block else ""  # type: ignore[arg-type]
        )
        values = (when, slot.position_name, slot.origin_icao or "", slot.destination_icao or "",
                  slot.aircraft_type or "", callsign, name)  # fmt: skip
        if pdf.will_page_break(ROW_HEIGHT):
            pdf.add_page()
            _pilot_header(pdf, widths)
        for value, width in zip(values, widths, strict=True):
            pdf.cell(width, ROW_HEIGHT, _fit(pdf, value, width), border="B")
        pdf.ln(ROW_HEIGHT)
    pdf.set_draw_color(0, 0, 0)


def roster_pdf(data: ExportData, *, now: datetime) -> bytes:
    """The roster as a PDF document."""
    event = data.event
    pdf = RosterPdf(event.title)
    pdf.add_page()
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 9, event.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 11)
    status = "" if event.status == "published" else f" · {event.status.upper()}"
    pdf.cell(0, 6, f"{event.airport_icao} · {event_when(event)}{status}", new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    taken = sum(1 for s in event.slots if s.booking is not None)
    pdf.set_font(FONT, "", 8.5)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, f"{taken} of {len(event.slots)} slots booked · as of {now:%Y-%m-%d %H%M}z"
             f" (roster version {data.version})", new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_text_color(0, 0, 0)
    roster = build_roster(event, now)
    _atc_grid(pdf, roster)
    _pilots(pdf, roster)
    return bytes(pdf.output())
