"""DejaVu Sans (Bitstream Vera licence, LICENSE beside it), so "Zoë Ångström" prints."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
REGULAR = FOLDER / "DejaVuSans.ttf"
BOLD = FOLDER / "DejaVuSans-Bold.ttf"
