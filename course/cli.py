"""Parse the command line and hand over to one module per subcommand.

Each command module has a docstring (its help text), `add_arguments(parser)`
and `run(args) -> exit code`; adding a command is one line in COMMANDS.
Only the module of the command being run is imported: some pull in nbgrader,
which takes seconds to load.
"""

import argparse
import ast
import atexit
import importlib
import os
import sys
import threading
from pathlib import Path

from base.errors import CourseError

DESCRIPTION = (
    "Release, collect and grade the backpropagation assignment, run from the course folder."
)
EPILOG = (
    "The usual order: course release backprop; course collect backprop --zip DOWNLOAD; course "
    "grade backprop. "
    "`course COMMAND --help` describes each command; `course demo` runs them all on a synthetic "
    "class."
)

COMMANDS = {
    "demo": "course.demo",
    "release": "course.release",
    "validate": "course.validate",
    "collect": "course.collect.command",
    "grade": "course.grade",
    "similarity": "course.similarity",
    "export": "course.export.command",
    "gradescope": "course.gradescope.command",
}


def summary(module_name):
    """The first line of a module's docstring, read without importing the module or its package
    (finding it through importlib would import course.collect, a tenth of a second)."""
    path = Path(__file__).resolve().parent.joinpath(*module_name.split(".")[1:])
    source = path.with_suffix(".py").read_text(encoding="utf-8")
    return (ast.get_docstring(ast.parse(source)) or "").strip().splitlines()[0]


def build_parser(command=None):
    """The parser; only `command`, if given, gets its options (and its module imported). The
    other commands' summaries are read only without one: only `course --help` lists them."""
    parser = argparse.ArgumentParser(prog="course", description=DESCRIPTION, epilog=EPILOG)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name) if command == name else None
        if module is not None:
            text = (module.__doc__ or "").strip().splitlines()[0]
        else:
            text = summary(module_name) if command is None else None
        sub = subparsers.add_parser(name, help=text, description=text)
        if module is not None:
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CourseError as error:
        # commands that have nothing to add to the message let it come here
        print(f"course {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def console():
    """The `course` program: `main`, then `exit_now`."""
    exit_now(main())


def exit_now(code):
    """End the process with exit status `code`, once its other threads have finished, its exit
    handlers have run and what it printed is out, without Python's teardown: freeing a graded
    class's objects one by one takes a twentieth of a second, the kernel frees them at once."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    code = code if isinstance(code, int) else int(code is not None)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except BrokenPipeError:  # course ... | head: the rest was not wanted
            pass
        except OSError as error:  # a full disk: the output is cut short, which must not pass
            os.write(2, f"course: could not write all of the output: {error}\n".encode())
            code = 120  # as Python's own exit does
    os._exit(code)
