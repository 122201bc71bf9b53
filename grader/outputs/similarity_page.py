"""similarity.html: the pairs of hand-ins above the threshold, side by side with the code they
share marked, a histogram of every pair's score and what the threshold means.

The template holds the markup and escapes the students' code; this module cuts each text into
marked and unmarked stretches and counts the scores.
"""

import math
from collections import Counter
from pathlib import Path

import numpy as np

from grader.outputs.gradebook import SIMILARITY_PAGE, write_atomically
from grader.outputs.pages import TEMPLATES
from grader.similarity import CALIBRATION, NOISE

SHOWN = 50  # pairs shown side by side; the ranking lists every pair above the threshold
BINS = 20  # histogram rows of 5 percentage points
CODE, MATCH, HEADER = 0, 1, 2  # what a stretch of a shown hand-in is


def write_similarity_page(out_dir, assignment, similarity):
    """Write OUT/similarity.html (atomically) and return its path."""
    path = Path(out_dir) / SIMILARITY_PAGE
    write_atomically(path, similarity_page(assignment, similarity))
    return path


def similarity_page(assignment, similarity):
    flagged = similarity.flagged
    readings = similarity.readings
    return TEMPLATES.get_template(SIMILARITY_PAGE).render(
        assignment=assignment,
        similarity=similarity,
        flagged=flagged,
        shown=[
            (
                pair,
                marked(readings[pair.first], pair.slices[0]),
                marked(readings[pair.second], pair.slices[1]),
            )
            for pair in flagged[:SHOWN]
        ],
        compared=sum(bool(reading.text) for reading in readings.values()),
        blank=[s for s, r in readings.items() if not r.text and not r.problems],
        histogram=histogram([pair.score for pair in similarity.pairs], similarity.threshold),
        noise=NOISE,
        kinds={"match": MATCH, "header": HEADER},
        calibration=CALIBRATION,
    )


def marked(reading, slices):
    """[(stretch of the reading's text, CODE, MATCH or HEADER)], in order; `slices` holds the
    starts and ends of the stretches that match the other hand-in."""
    text = reading.text
    kinds = np.full(len(text), CODE, dtype=np.int8)
    for start, end in zip(*slices):
        kinds[int(start) : int(end)] = MATCH
    for start, end in reading.headers:
        kinds[start:end] = HEADER
    cuts = [0, *(np.flatnonzero(np.diff(kinds)) + 1), len(text)]
    return [(text[a:b], int(kinds[a])) for a, b in zip(cuts, cuts[1:]) if b > a]


def histogram(scores, threshold):
    """[(label, pairs, share of the longest bar, above the threshold)] per 5 points of score. Bars
    are on a log scale: the few pairs that matter would vanish beside the thousands near 0."""
    counts = Counter(min(int(score * BINS), BINS - 1) for score in scores)
    most = math.log1p(max(counts.values(), default=0)) or 1.0
    step = 100 // BINS
    return [
        (
            f"{low * step}–{(low + 1) * step}%",
            counts[low],
            math.log1p(counts[low]) / most,
            low / BINS >= threshold,
        )
        for low in range(BINS)
    ]
