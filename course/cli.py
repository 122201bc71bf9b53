"""Parse the command line and hand over to one module per subcommand.

Each command module has a docstring (its help text), `add_arguments(parser)`
and `run(args) -> exit code`; adding a command is one line in COMMANDS.
"""
import argparse
import importlib
import sys

COMMANDS = {
    "demo": "course.demo",
    "release": "course.release",
    "validate": "course.validate",
    "collect": "course.collect",
    "grade": "course.grade",
}


def build_parser():
    parser = argparse.ArgumentParser(prog="course", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or "").strip().splitlines()[0]
        sub = subparsers.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
