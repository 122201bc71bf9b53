"""Compare a class: read every hand-in, then score every pair of those with something written."""

from dataclasses import dataclass

from grader.similarity import COMMON, THRESHOLD
from grader.similarity.compare import compare_class
from grader.similarity.handins import read_handin


@dataclass(frozen=True)
class ClassSimilarity:
    """Every hand-in as read and every pair's score: what the page and the summary show."""

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
