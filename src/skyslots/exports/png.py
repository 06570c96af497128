"""The roster image (1200 x 630, the size Discord and link previews show): the event, its ATC grid
as coloured cells with the callsigns, and how many pilot slots are booked (Pillow)."""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from skyslots.exports.data import ExportData
from skyslots.exports.fonts import BOLD, REGULAR
from skyslots.exports.labels import block_label, event_when
from skyslots.web.grid import build_roster, slot_state

WIDTH, HEIGHT = 1200, 630
MARGIN = 48
BACKGROUND = (17, 24, 39)
TEXT = (243, 244, 246)
MUTED = (156, 163, 175)
STATE_COLOURS = {
    "taken": (22, 163, 74),
    "held": (217, 119, 6),
    "free": (55, 65, 81),
    "locked": (31, 41, 55),
}
MAX_ROWS, MAX_BLOCKS = 7, 6


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size)


def _fit(draw: ImageDraw.ImageDraw, text: str, width: float, font: ImageFont.FreeTypeFont) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _grid(draw: ImageDraw.ImageDraw, data: ExportData, now: datetime, top: int) -> int:
    roster = build_roster(data.event, now)
    blocks = roster.blocks[:MAX_BLOCKS]
    rows = roster.rows[:MAX_ROWS]
    if not rows:
        return top
    label_width = 230
    cell_width = (WIDTH - 2 * MARGIN - label_width) / len(blocks)
    small, cell_font = _font(20), _font(22, bold=True)
    for i, block in enumerate(blocks):
        x = MARGIN + label_width + i * cell_width
        draw.text((x + 8, top), block_label(block.start, block.end), font=small, fill=MUTED)
    top += 34
    row_height = 48
    for row in rows:
        draw.text((MARGIN, top + 10), _fit(draw, row.position, label_width - 12, cell_font),
                  font=cell_font, fill=TEXT)  # fmt: skip
        for i, block in enumerate(blocks):
            x = MARGIN + label_width + i * cell_width
            slots = row.cells.get(block, [])
            state = slot_state(slots[0]) if slots else "locked"
            draw.rounded_rectangle(
                (x + 3, top + 3, x + cell_width - 3, top + row_height - 3),
                radius=8,
                fill=STATE_COLOURS[state],
            )
            label = slots[0].booking.pilot_callsign if slots and slots[0].booking else state
            text = _fit(draw, label if slots else "", cell_width - 20, cell_font)
            draw.text((x + 12, top + 10), text, font=cell_font, fill=TEXT)
        top += row_height
    hidden = len(roster.rows) - len(rows)
    if hidden > 0 or len(roster.blocks) > len(blocks):
        more = f"+{hidden} more positions" if hidden > 0 else "more time blocks"
        draw.text((MARGIN, top + 4), f"{more} on the event page", font=small, fill=MUTED)
        top += 30
    return top + 10


def roster_png(data: ExportData, *, now: datetime) -> bytes:
    """The roster image as PNG bytes."""
    event = data.event
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 36), _fit(draw, event.title, WIDTH - 2 * MARGIN, _font(46, True)),
              font=_font(46, True), fill=TEXT)  # fmt: skip
    draw.text((MARGIN, 100), f"{event.airport_icao} · {event_when(event)}", font=_font(26),
              fill=MUTED)  # fmt: skip
    top = _grid(draw, data, now, 160)
    pilots = [s for s in event.slots if s.position_type == "PILOT"]
    if pilots:
        booked = sum(1 for s in pilots if slot_state(s) == "taken")
        bar_top = max(top, HEIGHT - 110)
        draw.text((MARGIN, bar_top), f"Pilot slots: {booked} of {len(pilots)} booked",
                  font=_font(26, True), fill=TEXT)  # fmt: skip
        left, right = MARGIN, WIDTH - MARGIN
        draw.rounded_rectangle((left, bar_top + 40, right, bar_top + 64), radius=12,
                               fill=STATE_COLOURS["free"])  # fmt: skip
        if booked:
            filled = left + (right - left) * booked / len(pilots)
            draw.rounded_rectangle((left, bar_top + 40, max(filled, left + 24), bar_top + 64),
                                   radius=12, fill=STATE_COLOURS["taken"])  # fmt: skip
    draw.text((WIDTH - MARGIN, HEIGHT - 30), "SkySlots", font=_font(18), fill=MUTED, anchor="rs")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
