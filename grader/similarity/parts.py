"""What a student wrote in one file of a hand-in, found by reading it beside the release.

The similarity check compares these parts only: the code the release gave every student, and a
stub left as it was given, would make every pair of hand-ins look alike. The hand-in is parsed,
never run, and walked beside the released file: a given function whose body differs from the
release's gives its body, a statement the release does not have (a helper, an import) gives
itself. Docstrings and formatting do not make a body differ.
"""

import ast
import textwrap
from dataclasses import dataclass

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class Part:
    label: str  # where it stands: "Mul.backward", "_spread" or "line 12"
    text: str  # its source, comments included, dedented


def written_parts(given_text, handed_text):
    """The parts of `handed_text` its author wrote, in the file's order. Raises SyntaxError,
    ValueError, RecursionError or MemoryError when the hand-in cannot be parsed."""
    given = ast.parse(given_text)
    handed = ast.parse(handed_text)
    return list(_walk(given.body, handed.body, handed_text.splitlines(), ""))


def _code(statements):
    """The statements without docstrings or other bare strings, dumped: formatting and comments
    vanish."""
    return [
        ast.dump(statement)
        for statement in statements
        if not (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        )
    ]


def _walk(given_body, handed_body, lines, prefix):
    given_definitions = {node.name: node for node in given_body if isinstance(node, DEFINITIONS)}
    given_statements = set(_code(given_body))
    for node in handed_body:
        code = _code([node])
        given = given_definitions.get(getattr(node, "name", None))
        if not code:
            continue  # a docstring
        if given is not None and type(given) is type(node):
            name = prefix + node.name
            if isinstance(node, ast.ClassDef):
                yield from _walk(given.body, node.body, lines, name + ".")
            elif _code(node.body) != _code(given.body):
                yield Part(name, _body_text(node, lines))
        elif code[0] not in given_statements:
            label = prefix + node.name if isinstance(node, DEFINITIONS) else f"line {node.lineno}"
            yield Part(label, _lines(node, lines))


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
