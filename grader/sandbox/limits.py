"""Every limit on a hand-in, in one object that travels as an object from the command line to the
worker: its help text, default and validation live on its field."""

import argparse
from dataclasses import dataclass, field, fields

from base.handin import MAX_SOURCE_KB


def limit(default, text):
    """A limit's field: its default, and the help text its command-line option shows."""
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class Limits:
    """Resource limits for one hand-in; tests shrink the times to stay fast."""

    case_seconds: float = limit(
        1.5,
        "wall-clock seconds for one check's cases (the chain rule needs milliseconds; the large "
        "hidden cases rely on this limit to fail numerical backwards)",
    )
    submission_seconds: float = limit(60.0, "wall-clock seconds for all of a hand-in's checks")
    cpu_seconds: int = limit(30, "CPU seconds of each process running student code")
    memory_mb: int = limit(
        1024,
        "memory in MB of each worker (address space per process, and "
        "the worker's cgroup in all where one can be made)",
    )
    processes: int = limit(
        8,
        "processes and threads student code may run at once, where seccomp is missing "
        "(elsewhere checks may start none)",
    )
    output_mb: int = limit(1, "largest file in MB student code may write (prints are discarded)")
    scratch_mb: int = limit(64, "size in MB of the in-memory /tmp a sandboxed worker may write")
    open_files: int = limit(32, "files a check may hold open at once")
    source_kb: int = limit(MAX_SOURCE_KB, "largest file in kB a hand-in may have")

    def stall_seconds(self):
        """How long a grading process may take before it counts as stuck: the hand-in's time
        limits, plus 30 s of its own work (starting, reading, judging)."""
        return self.submission_seconds + self.case_seconds + 30


def positive(kind):
    """An argparse type: a number of `kind` above 0 (a limit of 0 would fail every check)."""

    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above 0")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def add_limit_options(add_option, defaults=Limits()):
    """Declare one command-line option per limit, for argparse and pytest alike, defaulting to
    `defaults`."""
    for each in fields(Limits):
        default = getattr(defaults, each.name)
        add_option(
            f"--{each.name.replace('_', '-')}",
            type=positive(each.type),
            default=default,
            metavar="N",
            help=f"limit: {each.metadata['help']} (default {default})",
        )


def limits_from(options):
    """Limits read from parsed options (argparse's or pytest's)."""
    return Limits(**{each.name: getattr(options, each.name) for each in fields(Limits)})
