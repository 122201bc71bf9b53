"""The cases of every check: inputs the judge makes, and the answers it expects.

One check per graded cell of the notebook (same grade_id and points, read
from the nbgrader metadata of the released notebook: generated from the
source by `course release`, kept in step with it by a test, and plain JSON,
so grading needs neither jupytext nor nbformat). A check's cases are the
notebook's visible case with its numbers, then hidden ones: the notebook's
hidden tests and seeded random cases with broadcasting, reductions along
each axis, repeated indices, relu at exactly 0 and networks. Each case goes through one
operation and, at most, the `Add` students were given, so a check does not
depend on the others (the network check needs matmul, relu and the loss).

Expected answers come from `toolbox_solution`, and a hand-in's values and
gradients must match them to rtol 1e-6. Central differences of the
reference's forward pass are the second opinion on those answers: the
engine's property tests and tests/test_grading_cases.py (the grader's own
case builders, eight seeds) check that they agree wherever the function is
smooth. Comparing each hand-in with central differences too would add
nothing: they agree with the reference to about 1e-9, far inside the
tolerance, and at a kink (relu at 0) they are not an answer at all. The
expected answers depend on no submission, so they are computed once per process.

A backward that differentiates its node's forward numerically agrees with
the chain rule to about 1e-9 on ordinary numbers, and a complex step is
exact. Two kinds of hidden case stop it when it takes one forward pass per
input entry: one entry a million to a trillion times the others (see
`_one_huge`), where rounding swamps real differences, and a `large` case
whose every node has tens of thousands of input entries, where those passes
take far longer than a check's time, while the chain rule takes
milliseconds. (A node whose Jacobian has a structure can be differentiated in
few passes by whoever knows that structure, which is most of knowing the
derivative: an elementwise node's is diagonal, so one complex-step pass gives
it; a matmul's output row i depends on row i of the left factor only, so one
pass per column does. No case can tell such a backward from the chain rule.)

The random cases are drawn afresh for every grading run (all processes of a
run share them: they fork after the cases are built). A hand-in sees every
input it is asked about and can leak it through its feedback (an exception
message, a returned array); fixed seeds would let a resubmission look the
answers up instead of computing them. Set GRADER_SEED to repeat a run's cases.
"""

import functools
import json
import os
import secrets
import zlib
from dataclasses import dataclass

import numpy as np

from base.notebook import graded_cells, read_ipynb
from grader import ASSIGNMENT, RELEASE_DIR
from grader.assignments import cases_module
from grader.worker import encode_case

RELEASED_NOTEBOOK = RELEASE_DIR / "backprop.ipynb"
RUN_SEED = int(os.environ.get("GRADER_SEED") or secrets.randbits(63))


@dataclass(frozen=True)
class Case:
    title: str  # shown to students only for visible cases
    visible: bool
    request: dict  # what the worker computes (see grader.worker.evaluate)
    expected: dict  # toolbox_solution's {"value", "grads"}
    # no kink and no huge entry, so central differences can confirm `expected`
    # (tests/test_grading_cases.py)
    smooth: bool


@dataclass(frozen=True)
class Request:
    """Cases the worker answers in one fork: JSON text it reads, and the most payload bytes of
    arrays its answer may have (twice the expected, for gradients of a wrong shape)."""

    cases: tuple
    wire: str
    max_payload: int
    last: bool  # the check's last request: its fork ends after answering it


def request_of(cases, last):
    expected = sum(
        np.size(array)
        for case in cases
        for array in (case.expected["value"], *case.expected["grads"].values())
        if array is not None
    )
    return Request(
        tuple(cases),
        json.dumps([encode_case(case.request) for case in cases]),
        16 * expected + 4096,
        last,
    )


@dataclass(frozen=True)
class Check:
    grade_id: str
    points: float
    cases: tuple
    hidden_kinds: str  # what its hidden cases try, for the hint a student gets when only those fail

    @functools.cached_property
    def requests(self):
        """The visible cases, then the hidden ones, each a request of its own, encoded once per
        process:
        the visible answers, which make the feedback a student reads, are in before the check's fork
        is handed a hidden input."""
        parts = [
            cases
            for cases in (
                [c for c in self.cases if c.visible],
                [c for c in self.cases if not c.visible],
            )
            if cases
        ]
        return tuple(
            request_of(cases, last=position == len(parts) - 1)
            for position, cases in enumerate(parts)
        )


def rng_for(seed, grade_id):
    """The random generator of one check's cases in a run: the run's seed and the check's name."""
    return np.random.default_rng([seed, zlib.crc32(grade_id.encode())])


@functools.cache
def checks(notebook_path=RELEASED_NOTEBOOK, seed=RUN_SEED):
    """The checks of the notebook's graded cells, in notebook order, with random cases drawn from
    `seed`."""
    if not notebook_path.is_file():
        raise FileNotFoundError(
            f"{notebook_path} is missing: run `course release backprop` before grading."
        )
    assignment, result = cases_module(ASSIGNMENT), []
    for cell in graded_cells(read_ipynb(notebook_path), path=notebook_path):
        if cell.grade_id not in assignment.BUILDERS or cell.grade_id not in assignment.HIDDEN_KINDS:
            raise ValueError(
                f"{notebook_path.name} has a graded cell '{cell.grade_id}' that "
                f"grader/assignments/{ASSIGNMENT}/cases.py has no cases for; add a builder named "
                f"{cell.grade_id} to BUILDERS and say what its hidden cases try in HIDDEN_KINDS."
            )
        cases = assignment.BUILDERS[cell.grade_id](rng_for(seed, cell.grade_id))
        result.append(
            Check(cell.grade_id, cell.points, tuple(cases), assignment.HIDDEN_KINDS[cell.grade_id])
        )
    return tuple(result)
