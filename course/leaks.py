"""Refuse a release in which any line of a solution or of a hidden test survives.

A fingerprint is a line from inside a region with its whitespace removed (and a
trailing comment after code dropped), so re-indenting or re-spacing a copied
line does not hide it. Lines shorter than MIN_LENGTH characters (`return`,
`pass`, `else:`, `x = a`) say nothing about the solution and are skipped, as
are the stub's own lines. A release line leaks when it contains a fingerprint.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests

from course.markers import find_regions, lines_outside
from course.strip import solution_clearer

MIN_LENGTH = 10
TRAILING_COMMENT = re.compile(r"(\S)\s+#[^'\"]*$")


@dataclass(frozen=True)
class Leak:
    where: str  # release file and line
    origin: str  # source file and line of the region line it repeats
    line: str

    def __str__(self):
        return f"{self.where} repeats {self.origin}: {self.line.strip()!r}"


def squeeze(line):
    """`line` without any whitespace."""
    return "".join(line.split())


def source_fingerprints(source, script, config, show=str):
    """The fingerprints of every .py file under `source`, whose markers are checked on the way.

    `script` is the notebook's percent-format twin. Solution lines are secret
    wherever else they appear. A hidden-test line that the notebook also shows
    publicly (`loss.backward()`, say) gives nothing away, so it is exempt.
    """
    clearer, hider = solution_clearer(config), ClearHiddenTests(config=config)
    kinds = {
        "solution": (clearer.begin_solution_delimeter, clearer.end_solution_delimeter),
        "hidden": (hider.begin_test_delimeter, hider.end_test_delimeter),
    }
    regions = {kind: {} for kind in kinds}
    public = []
    for path in sorted(p for p in Path(source).rglob("*.py") if "__pycache__" not in p.parts):
        text = path.read_text(encoding="utf-8")
        for kind, (begin, end) in kinds.items():
            regions[kind][show(path)] = find_regions(
                text, begin, end, show(path), cells=path == script
            )
        if path == script:
            public = lines_outside(
                text, regions["solution"][show(path)] + regions["hidden"][show(path)]
            )
    stub = clearer.code_stub["python"].splitlines()
    return {
        **fingerprints(regions["hidden"], stub + public),
        **fingerprints(regions["solution"], stub),
    }


def fingerprints(regions_by_path, allowed_lines=()):
    """Map each non-trivial region line, squeezed, to 'path:line' of its first occurrence."""
    allowed = {squeeze(line) for line in allowed_lines}
    prints = {}
    for path, regions in regions_by_path.items():
        for region in regions:
            for number, line in enumerate(region.lines, start=region.start + 1):
                key = squeeze(TRAILING_COMMENT.sub(r"\1", line))
                if len(key) >= MIN_LENGTH and key not in allowed:
                    prints.setdefault(key, f"{path}:{number}")
    return prints


def find_leaks(folder, prints, shown_as):
    """Every line of every file under `folder` that contains a fingerprint; paths shown under
    `shown_as`."""
    folder = Path(folder)
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for where, line in _numbered_lines(
            path, f"{shown_as}/{path.relative_to(folder).as_posix()}"
        ):
            key = squeeze(line)
            leaks.extend(
                Leak(where, origin, line)
                for fingerprint, origin in prints.items()
                if fingerprint in key
            )
    return leaks


def _numbered_lines(path, shown):
    """(location, line) pairs of a text file, or of each cell of a notebook; nothing for binary
    files."""
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        for cell_number, cell in enumerate(notebook.cells, start=1):
            for number, line in enumerate(cell.source.splitlines(), start=1):
                yield f"{shown} cell {cell_number} line {number}", line
        return
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        yield f"{shown}:{number}", line
