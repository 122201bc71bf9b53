"""Score every pair of hand-ins by the code they share, with copydetect's winnowing (as MOSS does).

copydetect reads code as tokens, with every name turned into one placeholder and comments and
whitespace dropped, so renaming variables or reformatting hides nothing; it hashes every run of
NOISE characters of that filtered code, and finds the runs two documents share wherever they
stand, so reordering functions hides nothing either. Runs that occur in the release (its given
code and stubs) are boilerplate and never count.

Every run is kept (a winnowing window of 1): a wider window keeps the smallest hash of each window,
and copydetect hashes with Python's `hash`, which differs from one process to the next, so scores
would change from run to run. The documents are small enough to keep them all, in one process.
"""

import collections
import copy
import io
import itertools
from dataclasses import dataclass

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage

from grader.similarity import NOISE

WINDOW = 1


@dataclass(frozen=True)
class Pair:
    """Two hand-ins and how much of what each wrote the other has too."""

    first: str
    second: str
    shares: tuple  # the fraction of each one's code that matches the other's
    slices: tuple  # for each, an array [starts, ends] of the matching characters in its text

    @property
    def score(self):
        """The larger share: a student who copied a few functions into their own work is still
        found."""
        return max(self.shares)


def fingerprint(text, boilerplate=()):
    """copydetect's fingerprint of Python `text`, without the hashes in `boilerplate`."""
    return CodeFingerprint(
        "hand-in.py",
        NOISE,
        WINDOW,
        boilerplate=np.asarray(boilerplate),
        language="python",
        fp=io.StringIO(text),
    )


def boilerplate(given_texts):
    """Every hash of every run in the files the release gave students: code that never counts."""
    hashes = [
        CodeFingerprint("given.py", NOISE, 1, language="python", fp=io.StringIO(text)).hashes
        for text in given_texts
    ]
    return np.unique(np.fromiter(itertools.chain.from_iterable(hashes), dtype=np.int64))


def common_hashes(prints, most):
    """The hashes more than `most` documents hold: code so many students wrote alike (the short
    answer every correct solution gives) says nothing about any two of them, as in MOSS."""
    counts = collections.Counter(itertools.chain.from_iterable(p.hashes for p in prints))
    return {value for value, count in counts.items() if count > most}


def without(print_, hashes):
    """`print_` without `hashes`, as if they were boilerplate (this saves tokenising it again)."""
    if print_.hashes.isdisjoint(hashes):
        return print_
    kept = copy.copy(print_)
    kept.hashes = print_.hashes - hashes
    kept.hash_idx = {value: at for value, at in print_.hash_idx.items() if value not in hashes}
    kept.token_coverage = get_token_coverage(kept.hash_idx, NOISE, len(print_.filtered_code))
    return kept


def compare_class(documents, given_texts, common):
    """[Pair] for every two of `documents` ({student: text}), highest score first; runs in the
    release, or in more than `common` documents, do not count."""
    given = boilerplate(given_texts)
    prints = {student: fingerprint(text, given) for student, text in documents.items()}
    frequent = common_hashes(prints.values(), common)
    prints = {student: without(p, frequent) for student, p in prints.items()}
    pairs = []
    for first, second in itertools.combinations(prints, 2):
        _, shares, slices = compare_files(prints[first], prints[second])
        pairs.append(Pair(first, second, tuple(map(float, shares)), slices))
    return sorted(pairs, key=lambda pair: -pair.score)
