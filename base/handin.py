"""What grading refuses before anything runs, as rules a student's own check runs too.

A hand-in is refused when a file students complete is missing, too large, not UTF-8, not Python,
or changes the code students were given. `course grade` applies these rules in the trusted
process; `course release` copies this module, with base/text.py, into the release's
check_handin.py, so students find out before the deadline exactly what grading would say. So it
imports only the standard library and base.text.

Only the bodies of the functions the release stubs out are the student's. The rest (every
forward, Tensor.backward, the layers) is what makes a check meaningful: a hand-in that rewrote
Tensor.backward to differentiate numerically would pass every gradient check without a single
backward written. Comparing syntax trees (read, never run) with the release's finds such changes
while ignoring formatting, comments and docstrings; a file whose bytes outside the students'
bodies are the release's needs no trees compared (`_bodies_cut`: the grader reads every hand-in).
Students may add imports and helper functions at the top of a file, as long as they only add
names: an addition that rebinds a given name, a builtin or a dunder, star-imports, or runs code
when the file is imported (a decorator, a call in a default value) could change the given code
without touching it.

Grading is strict on what could fake an answer and lenient on what cannot: a `print` of names and
attributes, or an `assert` comparing them, left inside given code calls nothing of the student's
and changes no value, so it is ignored rather than costing the whole hand-in.
"""

import ast
import builtins
import codecs
import collections
import functools
import io
import itertools
import sys
import tokenize
from pathlib import Path

from base.text import some_of, student_text

MAX_SOURCE_KB = 1024  # a completed engine file is about 15 kB; parsing happens in the grader


class Unusable(Exception):
    """A hand-in that cannot be graded; `status` goes into grades.csv, the message to the
    student."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def found_files(folder, files, max_kb=MAX_SOURCE_KB):
    """{name: the file to read} for each of `files` in the hand-in `folder`; raise `Unusable` when
    one is missing, larger than `max_kb` or a link to a file outside the hand-in."""
    folder = Path(folder)
    # a linked hand-in could be anything, the solution included
    linked = folder.is_symlink() or folder.parent.is_symlink()
    if linked or not folder.is_dir() or not any(folder.iterdir()):
        why = "is a link, not a folder" if linked else "is empty or missing"
        raise Unusable(
            "empty folder",
            f"the hand-in folder {folder.name}/ {why}: hand in the whole folder with "
            f"{' and '.join(files)}.",
        )
    inside = folder.resolve()
    found = {
        name: _link_target(folder / name, inside) if (folder / name).is_symlink() else folder / name
        for name in files
    }
    missing = [name for name, real in found.items() if real is None or not real.is_file()]
    if missing:
        linked = [name for name in missing if (folder / name).is_symlink()]
        why = (
            f" ({' and '.join(linked)}: a link to a file outside your hand-in; hand in the file "
            "itself)"
            if linked
            else ""
        )
        raise Unusable(
            "missing file",
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing from the "
            f"hand-in{why}: hand in your completed {' and '.join(missing)}. "
            f"The hand-in holds {_listing(folder)}.{_renamed(folder, missing)}",
        )
    for name, real in found.items():
        if real.stat().st_size > max_kb << 10:
            raise Unusable(
                "too large",
                f"{name} is larger than {max_kb} kB, far more than the assignment needs: "
                "hand in the file you completed, without generated or pasted data.",
            )
    return found


def _renamed(folder, missing):
    """' Rename X to toolbox.py.' for a file that looks like a missing one renamed by a browser or
    a copy ('toolbox (1).py', 'Toolbox.py', 'toolbox.py.txt')."""
    hints = []
    for name in missing:
        stem = Path(name).stem.casefold()
        like = sorted(
            path.name
            for path in _entries(folder)
            if path.is_file() and path.name != name and path.name.casefold().startswith(stem)
        )
        if like:
            hints.append(f" Rename {student_text(like[0], limit=80)} to {name}.")
    return "".join(hints)


def named_definitions(tree, prefix=""):
    """(qualified name, node) of every class and function, outermost first."""
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, node
            yield from named_definitions(node, name + ".")


def _shape(node):
    """`node` as nested tuples: equal (and hashed alike) when the nodes' `ast.dump`s would be, but
    made in half the time, and for any number (a dump writes each in decimal digits, up to
    Python's limit). A constant keeps its type: 1, 1.0 and True are equal numbers."""
    kind = type(node)
    if kind is list:
        return tuple(map(_shape, node))
    if kind is str:
        return node
    if isinstance(node, ast.AST):
        return (kind, *[_shape(getattr(node, field, None)) for field in node._fields])
    return (kind, node)


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


def _import_shape(statement):
    """An import statement's `_shape`, to compare it with the release's; None for any other
    statement (shaping whole classes only to find they are no import would double the check's
    time)."""
    return _shape(statement) if isinstance(statement, (ast.Import, ast.ImportFrom)) else None


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
        if _import_shape(statement) not in imports
    ]
    if taken is not None:
        tree.body = [
            statement
            for statement in tree.body
            if _why_not_added(statement, taken, siblings) is not None
        ]
    definitions = list(named_definitions(tree))
    for name, node in definitions:  # first, so that no later step reads the students' code
        if name in free:
            node.body = [ast.Pass()]
    for name, node in definitions:
        if name not in free:
            _drop_harmless(node)
            node.body = _without_strings(node.body) or [ast.Pass()]
    return tree


# What a print or an assert left in given code may hold and still change nothing: names,
# attributes, constants, f-strings, comparisons of them, and no call of any kind.
_SHOWN = _INERT + (
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.Is,
    ast.IsNot,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.Not,
    ast.Slice,
)


def _harmless(statement):
    """A debugging print or assert: it shows or tests values and calls nothing of the student's."""
    if isinstance(statement, ast.Assert):
        shown = [statement.test, statement.msg]
    elif (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id == "print"
        and not statement.value.keywords
    ):
        shown = statement.value.args
    else:
        return False
    return all(
        isinstance(node, _SHOWN) for value in filter(None, shown) for node in ast.walk(value)
    )


def _drop_harmless(definition):
    """Take the harmless prints and asserts out of every block of a given definition, nested
    blocks included. Only statements hold blocks, so no expression is walked."""
    nodes = [definition]
    while nodes:
        node = nodes.pop()
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                kept = [statement for statement in block if not _harmless(statement)]
                setattr(node, field, kept or [ast.Pass()])
                nodes += kept
        nodes += getattr(node, "handlers", []) + getattr(node, "cases", [])


@functools.cache
def _given(given_text, stub_text):
    """The released file's stubbed functions and its normalised tree, as `_shape`s: the same for
    every hand-in."""
    stub = _shape(ast.Module(body=ast.parse(stub_text).body, type_ignores=[]))
    given = ast.parse(given_text)
    free = frozenset(
        name
        for name, node in named_definitions(given)
        if isinstance(node, ast.FunctionDef)
        and _shape(ast.Module(body=_without_strings(node.body), type_ignores=[])) == stub
    )
    taken = frozenset(set(dir(builtins)).union(*map(_bound_names, given.body)))
    imports = frozenset(filter(None, map(_import_shape, given.body)))
    given = _normalised(given, free, imports)
    statements = collections.Counter(map(_shape, given.body))
    return (
        free,
        taken,
        imports,
        statements,
        _shape(given),
        {name: _shape(node) for name, node in named_definitions(given)},
    )


def students_functions(given_text, stub):
    """The qualified names of the functions whose released body is `stub`: the students' to
    write."""
    return _given(given_text, stub)[0]


def _bodies_cut(tree, source, names):
    """`source` (a file's bytes, parsed as `tree`) with the body of each function in `names`
    (qualified names) cut out, with the blank and comment lines around it, from the line after its
    header to the next line of code, and its name put in its place between NUL bytes (which no
    readable file holds). None where the cut is not certain: a name missing, defined twice or as a
    class, a body that shares a line with its header, or line ends Python counts differently from
    here (a carriage return, a byte order mark)."""
    if b"\r" in source or source.startswith(codecs.BOM_UTF8):
        return None
    lines = [0]  # where each line starts, and the end
    at = source.find(b"\n")
    while at != -1:
        lines.append(at + 1)
        at = source.find(b"\n", at + 1)
    lines.append(len(source))
    found = {}
    for name, node in named_definitions(tree):
        if name in names:
            if name in found or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return None  # twice, or a class by that name
            found[name] = node
    if len(found) != len(names):
        return None
    cuts = []
    for name, node in found.items():
        first, last, header_end = node.body[0], node.body[-1], _header_end(node)
        start, end = lines[first.lineno - 1], lines[last.end_lineno - 1] + last.end_col_offset
        if first.lineno <= header_end or source[start : start + first.col_offset].strip():
            return None
        line = first.lineno  # up over the comments between the header and the first statement
        while line - 1 > header_end and _blank_or_comment(source[lines[line - 2] : start]):
            line, start = line - 1, lines[line - 2]
        line = last.end_lineno  # down over the comments after the last statement
        while line < len(lines) - 1 and _blank_or_comment(source[end : lines[line]]):
            line, end = line + 1, lines[line]
        cuts.append((start, end, name))
    cuts.sort()
    parts, at = [], 0
    for start, end, name in cuts:
        if start < at:  # one body inside another
            return None
        parts += [source[at:start], b"\0" + name.encode() + b"\0"]
        at = end
    return b"".join(parts + [source[at:]])


def _header_end(function):
    """The last line of a function's header's parts (its colon may come later)."""
    arguments = function.args
    parts = [function.returns, arguments.vararg, arguments.kwarg, *arguments.posonlyargs]
    parts += [*arguments.args, *arguments.kwonlyargs, *arguments.defaults, *arguments.kw_defaults]
    return max([function.lineno] + [part.end_lineno for part in parts if part is not None])


def _blank_or_comment(text):
    """Whether `text` (the rest of a line, or a whole one) holds only blanks, or a comment."""
    text = text.strip()
    return not text or text.startswith(b"#")


@functools.cache
def _release_cut(given_text, stub_text):
    """`_bodies_cut` of the released file: what a hand-in that changed nothing given matches."""
    free = _given(given_text, stub_text)[0]
    return _bodies_cut(ast.parse(given_text), given_text.encode(), free)


def changed_definition(given_text, handed_in, stub, siblings=(), source=None):
    """Where the hand-in (a syntax tree, changed here) differs from the release outside the
    students' parts,
    or None: the innermost given definition it changed, else "line N" of a statement the release
    does not
    have (and students may not add), else "module level" (a given statement is missing or moved).
    `stub` is nbgrader's code stub (ClearSolutions.code_stub), which marks the students' bodies;
    `siblings` are the hand-in's other modules, which it may import. With the hand-in's `source`
    (bytes), a hand-in whose bytes outside the students' bodies are the release's is unchanged
    at once: the syntax trees are compared only when they are not."""
    free, taken, imports, statements, given, definitions = _given(given_text, stub)
    if source is not None:
        cut, released = _bodies_cut(handed_in, source, free), _release_cut(given_text, stub)
        if cut is not None and cut == released:
            return None
    if not imports <= {_import_shape(statement) for statement in handed_in.body}:
        return "module level"  # a given import is gone
    handed_in = _normalised(handed_in, free, imports, taken, tuple(siblings))
    if _shape(handed_in) == given:
        return None
    theirs = {name: _shape(node) for name, node in named_definitions(handed_in)}
    changed = [name for name, shape in definitions.items() if theirs.get(name) != shape]
    if changed:
        return max(changed, key=lambda name: name.count("."))  # the method, not its class
    unmatched = statements.copy()
    for (
        statement
    ) in handed_in.body:  # the first statement beyond the release's: new, or a copy of a given one
        unmatched[_shape(statement)] -= 1
        if unmatched[_shape(statement)] < 0:
            why = _why_not_added(statement, taken, tuple(siblings))
            line = min(
                [
                    statement.lineno,
                    *(decorator.lineno for decorator in getattr(statement, "decorator_list", [])),
                ]
            )
            return f"line {line}" + (f" ({why})" if why else "")
    return "module level"


def check_given_code_unchanged(trees, given_texts, stub, sources=None):
    """Raise `Unusable` when a hand-in's file ({name: syntax tree}) differs from its released text
    in `given_texts` outside the stubbed bodies. `sources` ({name: bytes}), if given, are the
    files the trees were parsed from (see `changed_definition`)."""
    siblings = [Path(name).stem for name in trees]
    for name, tree in trees.items():
        source = sources[name] if sources else None
        try:
            changed = changed_definition(given_texts[name], tree, stub, siblings, source)
        except RecursionError:
            changed = "module level"
        if changed is not None:  # it may name a module or a name of the hand-in's: cut it short
            raise Unusable("changed given code", changed_code_message(name, student_text(changed)))


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


def _listing(folder):
    """What a hand-in folder holds, for a student looking for a misnamed or misplaced file."""
    names = [
        student_text(path.name, limit=80) + ("/" if path.is_dir() else "")
        for path in _entries(folder)
    ]
    listed = some_of(sorted(names), most=8)
    return listed + (f" (of its first {len(names)} entries)" if len(names) == LISTED else "")


LISTED = 1000  # entries of a hand-in folder looked at, at most


def _entries(folder):
    """The first `LISTED` entries of a hand-in folder: enough to name what it holds, where a
    folder of a million files would cost the grading process seconds to list and look at whole."""
    return itertools.islice(Path(folder).iterdir(), LISTED)


def _link_target(link, inside):
    """The file a link points to if it lies inside the hand-in, else None."""
    try:
        real = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return None
    return real if real.is_relative_to(inside) and real.is_file() else None


def check_readable(folder, files, sources=None):
    """Each of `files`' syntax tree; raises `Unusable` if the private copy in `folder` cannot be
    read as Python. `sources` ({name: bytes}), if given, are the files, read already."""
    trees = {}
    for name in files:
        raw = sources[name] if sources else (Path(folder) / name).read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise Unusable(
                "bad encoding",
                f"{name} line {line} is not valid UTF-8 (byte {raw[error.start]:#04x}): save the "
                "file as UTF-8 and hand it in again.",
            ) from None
        declared = _declared_encoding(raw)
        if declared not in ("utf-8", "utf-8-sig"):
            raise Unusable(
                "bad encoding",
                f"{name} declares the encoding {declared!r} in a '# coding:' line: delete that "
                "line, "
                "save the file as UTF-8 and hand it in again.",
            )
        if b"\0" in raw:
            line = raw[: raw.index(b"\0")].count(b"\n") + 1
            raise Unusable(
                "syntax error",
                f"{name} line {line} holds a null byte, which Python cannot read: delete it and "
                "hand it in again.",
            )
        try:
            trees[name] = ast.parse(
                raw, filename=name
            )  # the bytes, as the worker's import reads them
        except (
            RecursionError,
            MemoryError,
        ):  # what Python's parser raises for expressions nested thousands deep
            raise Unusable(
                "syntax error",
                f"{name} nests an expression too deeply for Python to read: simplify it and "
                "hand it in again.",
            ) from None
        except (SyntaxError, ValueError) as error:
            raise Unusable(
                "syntax error",
                f"{name} line {getattr(error, 'lineno', '?')}: {getattr(error, 'msg', error)}. "
                "Fix it (the notebook's import cell shows the same error) and hand it in again.",
            ) from None
    return trees


def _declared_encoding(raw):
    """The encoding Python's import reads `raw` with: a '# coding:' line can name another than
    UTF-8,
    even one that turns '\\n' inside a comment into a line of code that only the import sees."""
    try:
        return codecs.lookup(tokenize.detect_encoding(io.BytesIO(raw).readline)[0]).name
    except (SyntaxError, LookupError):  # a codec Python does not know
        return "unknown"
