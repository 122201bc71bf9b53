"""What a student wrote in one file of a hand-in, found by reading it beside the release.

The similarity check compares these parts only: the code the release gave every student, and a
stub left as it was given, would make every pair of hand-ins look alike. The hand-in is parsed,
never run, and walked beside the released file: a given function whose body differs from the
release's gives its body, a statement the release does not have (a helper, an import) gives
itself. Docstrings and formatting do not make a body differ.
"""

import ast
import functools
import textwrap
from dataclasses import dataclass

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
DEFINITIONS = (*FUNCTIONS, ast.ClassDef)


@dataclass(frozen=True)
class Part:
    label: str  # where it stands: "Mul.backward", "_spread" or "line 12"
    text: str  # its source, comments included, dedented


def written_parts(given_text, handed_text):
    """The parts of `handed_text` its author wrote, in the file's order. Raises SyntaxError,
    ValueError, RecursionError or MemoryError when the hand-in cannot be parsed."""
    handed = ast.parse(handed_text)
    lines = handed_text.splitlines()
    return list(_walk(_given(given_text), handed.body, lines, ""))


@functools.cache
def _given(given_text):
    """The released file, read once for the whole class."""
    return _Level(ast.parse(given_text).body, given_text.splitlines())


class _Level:
    """One level of the released code (the module or a class): its definitions by name (a class
    as its own _Level, a function as its source and its body's code) and the code of its other
    statements."""

    def __init__(self, body, lines):
        self.definitions, self.statements = {}, set()
        for node in body:
            if isinstance(node, ast.ClassDef):
                self.definitions[node.name] = (ast.ClassDef, _Level(node.body, lines))
            elif isinstance(node, FUNCTIONS):
                code = (_lines(node, lines), _code(node.body))
                self.definitions[node.name] = (type(node), code)
            else:
                self.statements.update(_code([node]))


def _code(statements):
    """The statements without docstrings or other bare strings, dumped: formatting and comments
    vanish."""
    return [ast.dump(statement) for statement in statements if not _bare_string(statement)]


def _bare_string(statement):
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _walk(given, handed_body, lines, prefix):
    for node in handed_body:
        kind, given_code = given.definitions.get(getattr(node, "name", None), (None, None))
        if type(node) is kind:
            name = prefix + node.name
            if kind is ast.ClassDef:
                yield from _walk(given_code, node.body, lines, name + ".")
            elif _lines(node, lines) != given_code[0] and _code(node.body) != given_code[1]:
                yield Part(name, _body_text(node, lines))
        elif isinstance(node, DEFINITIONS):
            yield Part(prefix + node.name, _lines(node, lines))
        elif not _bare_string(node) and ast.dump(node) not in given.statements:
            yield Part(f"line {node.lineno}", _lines(node, lines))


def _lines(node, lines):
    """A statement's source lines, decorators included, dedented."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno]))


def _body_text(node, lines):
    """A function's body as written, comments above its first statement included."""
    header = max(
        [node.lineno]
        + [child.end_lineno for child in ast.walk(node.args) if hasattr(child, "end_lineno")]
        + ([node.returns.end_lineno] if node.returns else [])
    )
    if node.body[0].lineno <= header:  # `def f(x): return x`: the body shares the header's line
        return "\n".join(ast.get_source_segment("\n".join(lines), s) or "" for s in node.body)
    return textwrap.dedent("\n".join(lines[header : node.end_lineno]))
