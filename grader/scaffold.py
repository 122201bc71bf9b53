"""Refuse hand-ins that change the engine code students were given.

Only the bodies of the functions the release stubs out are the student's. The
rest (Tensor.backward, Function.apply, reduce_to_shape, every forward, the
layers) is what makes a check meaningful: a hand-in that rewrote
Tensor.backward to differentiate numerically would pass every gradient check
without a single backward written. Comparing syntax trees (read, never run)
with the release's finds such changes while ignoring formatting, comments and
docstrings.

Students may also add imports and helper functions at the top of a file, as
long as they only add names: an addition that rebinds a given name or a
builtin or a dunder, star-imports, or runs code when the file is imported (a decorator, a
call in a default value) could change the given code without touching it.
"""

import ast
import builtins
import collections
import functools
import sys
from pathlib import Path

from base.nbgrader_settings import load_config
from base.paths import COURSE_ROOT
from grader.submission import Unusable


@functools.cache
def _stub_statements():
    """nbgrader's stub as the statements it compiles to (its comment vanishes)."""
    stub = load_config(COURSE_ROOT).ClearSolutions.code_stub["python"]
    return ast.dump(ast.Module(body=ast.parse(stub).body, type_ignores=[]))


def _definitions(tree, prefix=""):
    """(qualified name, node) of every class and function, outermost first."""
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, node
            yield from _definitions(node, name + ".")


def _without_strings(body):
    """`body` without its bare string statements (docstrings wherever a student moved them): they do
    nothing."""
    return [
        statement
        for statement in body
        if not (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        )
    ]


def _bound_names(statement):
    """The module-level names a statement binds."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in statement.names}
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    return {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }


# What a helper's signature may hold: names, attributes, constants, and subscripts and `|` of them
# (which call
# only __getitem__/__or__ of classes and modules the release and the imports define), no calls of
# any kind.
_INERT = (
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Load,
    ast.Tuple,
    ast.UnaryOp,
    ast.USub,
    ast.UAdd,
    ast.Subscript,
    ast.BinOp,
    ast.BitOr,
)


# what the worker can import, besides the hand-in's own modules
IMPORTABLE = frozenset(sys.stdlib_module_names) | {"numpy"}


def _unavailable(statement, siblings):
    """The module an import statement names that the worker would not find, or None."""
    modules = (
        [alias.name for alias in statement.names]
        if isinstance(statement, ast.Import)
        else [("." * statement.level) + (statement.module or "")]
    )
    importable = IMPORTABLE.union(siblings)
    return next((module for module in modules if module.split(".")[0] not in importable), None)


def _why_not_added(statement, taken, siblings):
    """None when a module-level statement is an import or a helper function that only adds new
    names,
    else why it may not be added (the empty string: it is neither an import nor a function)."""
    if isinstance(statement, ast.FunctionDef):
        if statement.decorator_list:
            return "a decorator runs code when the file is imported"
        arguments = statement.args
        evaluated = [
            *arguments.defaults,
            *filter(None, arguments.kw_defaults),
            statement.returns,
            *(
                arg.annotation
                for arg in [
                    *arguments.posonlyargs,
                    *arguments.args,
                    *arguments.kwonlyargs,
                    arguments.vararg,
                    arguments.kwarg,
                ]
                if arg is not None
            ),
        ]
        if not all(
            isinstance(node, _INERT)
            for expression in filter(None, evaluated)
            for node in ast.walk(expression)
        ):
            return "its defaults or annotations call code when the file is imported"
    elif not isinstance(statement, (ast.Import, ast.ImportFrom)):
        return ""
    elif any(alias.name == "*" for alias in statement.names):
        return "a star import could rebind any name"
    elif _unavailable(statement, siblings):
        own = f", {' and '.join(siblings)}" if siblings else ""
        return (
            f"grading has no module {_unavailable(statement, siblings)}: only the standard "
            f"library, numpy{own}"
        )
    names = _bound_names(statement)
    clashing = sorted(names & taken) or sorted(
        name for name in names if name.startswith("__")
    )  # no module __getattr__
    return (
        f"it rebinds {', '.join(clashing)}, which the file or Python already defines"
        if clashing
        else None
    )


def _import_dump(statement):
    """An import statement's dump, to compare it with the release's; None for any other statement
    (dumping whole classes only to find they are no import would double the check's time)."""
    return ast.dump(statement) if isinstance(statement, (ast.Import, ast.ImportFrom)) else None


def _normalised(tree, free, imports, taken=None, siblings=()):
    """`tree` without docstrings or other bare strings, without the release's `imports` (wherever
    and
    however often they stand: a copy binds the same module again), with the bodies of the functions
    in
    `free` emptied and, given the names `taken` by the release and builtins, without the student's
    helpers."""
    tree.body = [
        statement
        for statement in _without_strings(tree.body)
        if _import_dump(statement) not in imports
    ]
    if taken is not None:
        tree.body = [
            statement
            for statement in tree.body
            if _why_not_added(statement, taken, siblings) is not None
        ]
    for name, node in _definitions(tree):
        node.body = [ast.Pass()] if name in free else (_without_strings(node.body) or [ast.Pass()])
    return tree


@functools.cache
def _given(given_text):
    """The released file's stubbed functions and its normalised tree, dumped: the same for every
    hand-in."""
    stub = _stub_statements()
    given = ast.parse(given_text)
    free = frozenset(
        name
        for name, node in _definitions(given)
        if isinstance(node, ast.FunctionDef)
        and ast.dump(ast.Module(body=_without_strings(node.body), type_ignores=[])) == stub
    )
    taken = frozenset(set(dir(builtins)).union(*map(_bound_names, given.body)))
    imports = frozenset(filter(None, map(_import_dump, given.body)))
    given = _normalised(given, free, imports)
    statements = collections.Counter(map(ast.dump, given.body))
    return (
        free,
        taken,
        imports,
        statements,
        ast.dump(given),
        {name: ast.dump(node) for name, node in _definitions(given)},
    )


def changed_definition(given_text, handed_in, siblings=()):
    """Where the hand-in (a syntax tree, changed here) differs from the release outside the
    students' parts,
    or None: the innermost given definition it changed, else "line N" of a statement the release
    does not
    have (and students may not add), else "module level" (a given statement is missing or moved).
    `siblings` are the hand-in's other modules, which it may import."""
    free, taken, imports, statements, given, definitions = _given(given_text)
    if not imports <= {_import_dump(statement) for statement in handed_in.body}:
        return "module level"  # a given import is gone
    handed_in = _normalised(handed_in, free, imports, taken, tuple(siblings))
    if ast.dump(handed_in) == given:
        return None
    theirs = {name: ast.dump(node) for name, node in _definitions(handed_in)}
    changed = [name for name, dump in definitions.items() if theirs.get(name) != dump]
    if changed:
        return max(changed, key=lambda name: name.count("."))  # the method, not its class
    unmatched = statements.copy()
    for (
        statement
    ) in handed_in.body:  # the first statement beyond the release's: new, or a copy of a given one
        unmatched[ast.dump(statement)] -= 1
        if unmatched[ast.dump(statement)] < 0:
            why = _why_not_added(statement, taken, tuple(siblings))
            line = min(
                [
                    statement.lineno,
                    *(decorator.lineno for decorator in getattr(statement, "decorator_list", [])),
                ]
            )
            return f"line {line}" + (f" ({why})" if why else "")
    return "module level"


def check_given_code_unchanged(trees, release_dir):
    """Raise `Unusable` when a hand-in's file ({name: syntax tree}) differs from the release outside
    the stubbed bodies."""
    siblings = [Path(name).stem for name in trees]
    for name, tree in trees.items():
        if not (release_dir / name).is_file():
            raise FileNotFoundError(
                f"{release_dir / name} is missing: run `course release {release_dir.name}` before "
                "grading."
            )
        try:
            given = (release_dir / name).read_text(encoding="utf-8")
            changed = changed_definition(given, tree, siblings)
        except RecursionError:
            changed = "module level"
        if changed is not None:
            raise Unusable("changed given code", changed_code_message(name, changed))


def changed_code_message(name, changed):
    """What a student whose `name` differs from the release at `changed` reads, and what to do."""
    if changed.startswith("line "):
        what = (
            f"{name} {changed} is not in the released {name}, and the only additions allowed are "
            "imports (of the standard "
            "library or numpy) and helper functions with new names (not rebinding a given name or "
            "a builtin)."
        )
    else:
        where = {"module level": "the code outside the given classes and functions"}.get(
            changed, changed
        )
        what = f"{name}: {where} differs from the released {name}."
    return (
        f"{what} Only the bodies of the functions marked '# YOUR CODE HERE' are yours to change; "
        f"copy the rest back from the released {name} and hand it in again."
    )
