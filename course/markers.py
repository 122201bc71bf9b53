"""Find the regions nbgrader removes (solutions, hidden tests) and refuse malformed markers.

nbgrader matches a delimiter anywhere in a line and, for a missing END, fails
without saying where; this scan applies the same matching rule but names the
file and line of every problem, before anything is generated.
"""

import re
from dataclasses import dataclass

from base.errors import CourseError

# A jupytext percent-format cell starts with this line; a region must not span cells.
CELL_MARKER = re.compile(r"^# %%")


@dataclass(frozen=True)
class Region:
    """Lines strictly between a begin and an end marker; `start`/`stop` are the markers' line
    numbers."""

    start: int
    stop: int
    lines: tuple


def find_regions(text, begin, end, path, cells=False):
    """The regions between `begin` and `end` in `text`, checked to be balanced and not nested.

    With `cells=True` the text is a percent-format notebook and a region must
    close inside the cell that opened it.
    """
    regions, opened, inside = [], None, []
    for number, line in enumerate(text.splitlines(), start=1):
        if begin in line:
            if opened is not None:
                raise CourseError(
                    f"{path}:{number}: '{begin}' inside the region opened at line {opened}; "
                    f"regions cannot be nested. Close that region first with '{end}'."
                )
            opened, inside = number, []
        elif end in line:
            if opened is None:
                raise CourseError(
                    f"{path}:{number}: '{end}' without a '{begin}' before it; add the missing "
                    "begin marker or delete this line."
                )
            regions.append(Region(opened, number, tuple(inside)))
            opened = None
        elif opened is not None:
            if cells and CELL_MARKER.match(line):
                raise CourseError(
                    f"{path}:{opened}: the region opened here is not closed before the next cell "
                    f"starts at line {number}; add '{end}' inside the same cell."
                )
            inside.append(line)
    if opened is not None:
        raise CourseError(
            f"{path}:{opened}: the region opened here is never closed; add a line with '{end}' "
            "after it."
        )
    return regions


def lines_outside(text, regions):
    """The lines of `text` that are neither inside one of `regions` nor one of their markers."""
    covered = {number for region in regions for number in range(region.start, region.stop + 1)}
    return [line for number, line in enumerate(text.splitlines(), start=1) if number not in covered]
