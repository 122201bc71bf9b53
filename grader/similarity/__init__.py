"""Find copied work across a class: `handins` reads what each student wrote (as text, never run),
`parts` finds it beside the release, `compare` scores every pair with copydetect, `class_check`
does it for a class. Here: the settings, which the command line reads without loading copydetect.

THRESHOLD and the figures in CALIBRATION come from a class of independently written correct
solutions (tests/honest_solutions.py; tests/test_similarity.py keeps the figures true): their
highest pair stays far below the threshold, planted copies far above it.
"""

from dataclasses import dataclass

THRESHOLD = 0.5  # a pair above it is shown side by side
# Characters of filtered code (a name counts one) that a shared run must span to count at all:
# about a line, such as `return grad * self.b, grad * self.a`, never counts alone.
NOISE = 25
COMMON = 10  # code more hand-ins than this share is common knowledge, not a copy (MOSS's default)


@dataclass(frozen=True)
class Calibration:
    """What the threshold was measured on, as the page explains it."""

    solutions: int  # independently written correct solutions, in different styles
    highest: float  # the highest score of any two of them
    one_region_changed: float  # a copy of one of them with one function's body rewritten


CALIBRATION = Calibration(solutions=7, highest=0.20, one_region_changed=0.89)
