"""The cases of every check: inputs the judge makes, and the answers it expects.

One check per graded cell of the assignment's notebook (same grade_id and points, read from the
nbgrader metadata of the released notebook: generated from the source by `course release`, kept
in step with it by a test, and plain JSON, so grading needs neither jupytext nor nbformat). What
each check's cases are is the assignment's (`grader.assignments`): this module only draws them
for a run and bundles them into requests, visible cases first.

The random cases are drawn afresh for every grading run (all processes of a run share them: they
fork after the cases are built). A hand-in sees every input it is asked about and can leak it
through its feedback (an exception message, a returned array); fixed seeds would let a
resubmission look the answers up instead of computing them. `--seed` repeats a run's cases
(results.json records the seed as cases_seed).
"""

import functools
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from base.notebook import graded_cells, read_ipynb
from base.paths import COURSE_ROOT
from grader.sandbox.worker import Payload, encode_case


def allowed_distance(expected):
    """How far from each of the reference's `expected` values a right answer may be: as the
    notebook's np.allclose, a little stricter (the one rule; the judge and the layouts use it)."""
    return 1e-8 + 1e-6 * np.abs(expected)


@dataclass(frozen=True)
class Case:
    title: str  # shown to students only for visible cases
    visible: bool
    request: dict  # what the worker computes (see the assignment's compute.evaluate)
    reference: Callable  # the reference's answer to a request: `expected`
    # no kink and no huge entry, so central differences can confirm `expected`
    # (tests/test_grading_cases.py)
    smooth: bool

    @functools.cached_property
    def expected(self):
        """The reference's {"value", "grads"}, computed when first asked for: `checks` asks for
        those of the cases and the twins it keeps, before the grading processes fork, and never
        for the twins it drops (the large cases' among them). A copy made with `replace` has it
        computed again: make one only inside `checks`."""
        return self.reference(self.request)


@dataclass(frozen=True)
class Request:
    """Cases the worker answers in one fork: JSON text it reads and the raw bytes of their arrays
    after it (see `worker.encode_case`), and the most payload bytes of arrays its answer may have
    (twice the expected, for gradients of a wrong shape)."""

    cases: tuple
    wire: str
    payload: bytes
    max_payload: int
    last: bool  # the check's last request: its fork ends after answering it
    layout: tuple = field(compare=False, repr=False)  # see `layout_of`


def layout_of(cases):
    """Where a right answer to `cases` puts the arrays the judge compares (see worker.Payload): per
    case, the description of its value (None when the value is not compared) and {name:
    description} of its gradients; all their expected values end to end; and how far from each a
    right answer may be (`allowed_distance`)."""
    described, expected, at = [], [], 0
    for case in cases:
        value, grads = case.expected["value"], case.expected["grads"]
        arrays = {} if value is None else {None: value}
        descriptions = {}
        for name, array in {**arrays, **grads}.items():
            array = np.asarray(array, dtype=np.float64)
            descriptions[name] = {"dtype": "float64", "shape": list(array.shape), "at": at}
            expected.append(array.ravel())
            at += array.nbytes
        described.append((descriptions.pop(None, None), descriptions))
    expected = np.concatenate(expected) if expected else np.zeros(0)
    return tuple(described), expected, allowed_distance(expected)


def request_of(cases, last):
    expected = sum(
        np.size(array)
        for case in cases
        for array in (case.expected["value"], *case.expected["grads"].values())
        if array is not None
    )
    payload = Payload()
    return Request(
        tuple(cases),
        json.dumps([encode_case(case.request, payload) for case in cases]),
        bytes(payload),
        16 * expected + 4096,
        last,
        layout_of(cases),
    )


@dataclass(frozen=True)
class Check:
    grade_id: str
    points: float
    cases: tuple
    hidden_kinds: str  # what its hidden cases try, for the hint a student gets when only those fail
    # {title of a hidden case: a case of the same kind with numbers drawn for feedback}: what a
    # student is shown when that hidden case fails, never the hidden inputs themselves
    twins: dict = field(compare=False)
    # the visible cases and the hidden ones' twins, then the hidden ones (see `requests_of`)
    requests: tuple = field(compare=False, repr=False)

    @property
    def hidden(self):
        return hidden(self.cases)


def hidden(cases):
    return [c for c in cases if not c.visible]


def requests_of(cases, twins):
    """The visible cases and the hidden ones' twins, then the hidden ones, each a request of its
    own: the answers that make the feedback a student reads are in before the check's fork is
    handed a hidden input. Encoded once per run, before the grading processes fork."""
    parts = [
        part
        for part in ([c for c in cases if c.visible] + list(twins.values()), hidden(cases))
        if part
    ]
    return tuple(
        request_of(part, last=position == len(parts) - 1) for position, part in enumerate(parts)
    )


def rng_for(seed, grade_id, stream=0):
    """The random generator of one check's cases in a run: the run's seed, the check's name, and
    0 for the graded cases or 1 for their twins, drawn for feedback."""
    return np.random.default_rng([seed, zlib.crc32(grade_id.encode()), stream])


TWIN_MOST_ENTRIES = 200  # a twin is shown whole: larger cases get none


def twins_of(cases, again):
    """{title: twin} for each hidden case in `cases` whose case at its place in `again` (the same
    builder with other random numbers) has other inputs and is small enough to show."""
    twins = {}
    for case, twin in zip(cases, again):
        if case.visible or not _all_drawn_anew(case.request, twin.request):
            continue
        shown = replace(twin, visible=True)
        if sum(np.size(a) for a in shown.expected["grads"].values()) <= TWIN_MOST_ENTRIES:
            twins[case.title] = shown
    return twins


def _all_drawn_anew(request, again):
    """Whether every array of `again` differs from its place in `request`: a twin that kept one
    (a hidden test's fixed input beside a random gradient) would show it."""
    pairs = list(zip(_arrays(request), _arrays(again)))
    return bool(pairs) and not any(np.array_equal(a, b) for a, b in pairs)


def _arrays(value):
    """The arrays in a request (nested dicts and lists), in order."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item)


@functools.cache
def checks(assignment, seed):
    """The checks of `assignment`'s graded cells, in notebook order, with random cases drawn from
    `seed`."""
    notebook = assignment.notebook
    if not notebook.is_file():
        raise FileNotFoundError(
            f"{notebook} is missing: run `course release {assignment.name}` before grading."
        )
    cases = assignment.cases()
    result = []
    for cell in graded_cells(read_ipynb(notebook), path=notebook):
        if cell.grade_id not in cases.BUILDERS or cell.grade_id not in cases.HIDDEN_KINDS:
            raise ValueError(
                f"{notebook.name} has a graded cell '{cell.grade_id}' that {shown(cases.__file__)} "
                f"has no cases for; add a builder named {cell.grade_id} to BUILDERS and say what "
                "its hidden cases try in HIDDEN_KINDS."
            )
        build = cases.BUILDERS[cell.grade_id]
        made = build(rng_for(seed, cell.grade_id))
        twins = twins_of(made, build(rng_for(seed, cell.grade_id, stream=1)))
        hidden_kinds = cases.HIDDEN_KINDS[cell.grade_id]
        made = tuple(made)
        requests = requests_of(made, twins)
        result.append(Check(cell.grade_id, cell.points, made, hidden_kinds, twins, requests))
    return tuple(result)


def shown(path):
    """`path` as a maintainer finds it: from the course folder when it lies there."""
    path = Path(path).resolve()
    return path.relative_to(COURSE_ROOT).as_posix() if path.is_relative_to(COURSE_ROOT) else path
