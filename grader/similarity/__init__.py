"""Find copied work across a class: `handins` reads what each student wrote (as text, never run),
`parts` finds it beside the release, `compare` scores every pair with copydetect.

THRESHOLD and the figures in CALIBRATION come from a class of independently written correct
solutions (tests/honest_solutions.py; tests/test_similarity.py keeps the figures true): their
highest pair stays far below the threshold, planted copies far above it.
"""

from dataclasses import dataclass

from grader.similarity.compare import NOISE, Pair, compare_class
from grader.similarity.handins import Reading, read_handin

THRESHOLD = 0.5  # a pair above it is shown side by side
COMMON = 10  # code more hand-ins than this share is common knowledge, not a copy (MOSS's default)


@dataclass(frozen=True)
class Calibration:
    """What the threshold was measured on, as the page explains it."""

    solutions: int  # independently written correct solutions, in different styles
    highest: float  # the highest score of any two of them
    one_region_changed: float  # a copy of one of them with one function's body rewritten


CALIBRATION = Calibration(solutions=7, highest=0.20, one_region_changed=0.89)


@dataclass(frozen=True)
class ClassSimilarity:
    readings: dict  # {student: Reading}, in the class list's order
    pairs: list  # every Pair of students who wrote something, highest score first
    threshold: float
    common: int

    @property
    def flagged(self):
        return [pair for pair in self.pairs if pair.score > self.threshold]

    @property
    def problems(self):
        """{student: problems} for every hand-in not read in full; one that wrote nothing
        readable is not compared at all."""
        return {s: r.problems for s, r in self.readings.items() if r.problems}


def compare_handins(submissions, given, max_kb, threshold=THRESHOLD, common=COMMON):
    """The ClassSimilarity of `submissions` ([(student, folder)]); `given` is {file: the released
    text} of each file students complete."""
    readings = {s: read_handin(s, folder, given, max_kb) for s, folder in submissions}
    documents = {student: r.text for student, r in readings.items() if r.text}
    pairs = compare_class(documents, given.values(), common)
    return ClassSimilarity(readings, pairs, threshold, common)


__all__ = [
    "CALIBRATION",
    "COMMON",
    "NOISE",
    "THRESHOLD",
    "ClassSimilarity",
    "Pair",
    "Reading",
    "compare_handins",
]
