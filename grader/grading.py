"""How hand-ins are graded, as one object from the command line to each hand-in's checks."""

import argparse
import os
from dataclasses import dataclass, field, replace

from grader.assignments import Assignment, assignment_named, known_gradings
from grader.sandbox.limits import Limits, add_limit_options, limits_from


def fresh_seed():
    """A seed nobody can foresee: 63 random bits from the operating system (as `secrets`, whose
    import costs `course grade` a few milliseconds before its workers start)."""
    return int.from_bytes(os.urandom(8), "little") >> 1


@dataclass(frozen=True)
class Grading:
    assignment: Assignment
    limits: Limits = Limits()
    sandbox: str = "auto"  # "auto", "bubblewrap" or "process" (see grader.sandbox.choose_sandbox)
    allow_changed_code: bool = False
    # the hidden cases' random inputs: fresh for every run unless given, and recorded in results
    seed: int = field(default_factory=fresh_seed)


def add_grading_options(add_option, assignment_option=False, limits=Limits()):
    """Declare how a hand-in is graded, for `course grade` (argparse) and `pytest grader` alike;
    `course grade` names the assignment as an argument, pytest with `--assignment`. `limits` are
    the defaults."""
    if assignment_option:
        only = known_gradings()
        add_option(
            "--assignment",
            default=only[0] if len(only) == 1 else None,
            help=f"the assignment to grade, one of {', '.join(only)}",
        )
    add_option(
        "--sandbox",
        choices=("auto", "bubblewrap", "process"),
        default="auto",
        help="isolate student code with bubblewrap, or plain limited processes (default: "
        "bubblewrap when it works)",
    )
    add_option(
        "--allow-changed-code",
        action="store_true",
        help="grade hand-ins that changed the given code outside the stubbed functions (by "
        "default they are refused with a message: rewritten given code could fake every answer)",
    )
    add_option(
        "--seed",
        type=seed_number,
        default=None,
        metavar="N",
        help="draw the hidden cases' random inputs from seed N, e.g. the cases_seed of an earlier "
        "run's results.json to repeat it, to look into that run: students who saw their results "
        "can know its inputs (default: a fresh seed each run, so inputs a hand-in leaked through "
        "its feedback are useless in the next one)",
    )
    add_limit_options(add_option, limits)


def seed_number(text):
    """An argparse type: a seed of the random cases, a whole number from 0 up."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{text} is below 0; a seed is a whole number from 0 up, e.g. the cases_seed of an "
            "earlier run's results.json"
        )
    return value


seed_number.__name__ = "seed"  # argparse names the type in its error message


def grading_from(options, assignment_name, root):
    """The Grading that parsed options (argparse's or pytest's) ask for."""
    grading = Grading(
        assignment_named(assignment_name, root),
        limits_from(options),
        options.sandbox,
        options.allow_changed_code,
    )
    return grading if options.seed is None else replace(grading, seed=options.seed)
