"""Check your hand-in before you hand it in: `python check_handin.py` in this folder.

It says whether grading would accept your files (present, UTF-8, valid Python, the given code
left as released) and runs every public check of the notebook on them. Written by the course's
release from its grading rules: do not edit it, and you need not hand it in.
"""

# --- base/text.py
"""Small rules for text that reaches people: names in order, long lists in a line, names that
replace nothing, and text from a hand-in made safe to show."""

import itertools
import unicodedata
from pathlib import Path


def roster_order(student_id):
    """Sort key for student ids, as a class list has them: case and accents ignored first
    ('Émile' beside 'emma', not after 'zoe'), then the exact id."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", student_id) if not unicodedata.combining(c)
    )
    return plain.casefold(), student_id


def some_of(names, most=5):
    """'a, b, c and 4 more': a long list named in one line of a message."""
    names = list(names)
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def first_free(path):
    """`path`, or the first of `path-1`, `path-2`, ... (numbered before its suffix) that does not
    exist:
    where something is kept aside, nothing kept before is replaced."""
    path = Path(path)
    numbered = (
        path.with_name(f"{path.stem}-{number}{path.suffix}") for number in itertools.count(1)
    )
    return next(
        candidate for candidate in itertools.chain([path], numbered) if not candidate.exists()
    )


def student_text(value, limit=500):
    """Text from a submission (a message, a folder name) cut to `limit` characters, control
    characters shown as escapes.

    It ends up in a terminal, grades.csv and feedback pages: an escape sequence must not clear or
    retitle the screen.
    """
    text = str(value)[:limit]
    if text.isprintable():  # most are: one pass in C instead of one call per character
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
# --- base/handin.py
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
# --- course/handin_check.py
"""Check a hand-in before handing it in: what grading would refuse, then every public check.

This is the body of the release's check_handin.py: `course release` writes that file from this
module, base/text.py, base/handin.py (grading's own rules) and the release's given code and public
checks, so it needs only the standard library and agrees with `course grade` on every refusal.
Students run `python check_handin.py` in their folder, or the notebook's last cell.
"""

import ast
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path


# Set by the release in the generated file: the files students complete, their released text,
# nbgrader's code stub, the notebook's import cell and its public checks.
FILES, GIVEN, STUB, SETUP, PUBLIC_CHECKS = (), {}, "", "", ()
CHECKS_SECONDS = 600  # all public checks together; an honest engine needs a few seconds


def refusal(folder):
    """Why grading would refuse the hand-in in `folder` (an `Unusable`), or None."""
    try:
        found_files(folder, FILES, MAX_SOURCE_KB)
        check_given_code_unchanged(check_readable(folder, FILES), GIVEN, STUB)
    except Unusable as refused:
        return refused
    return None


def changed_lines(folder, most=30):
    """The lines of each file that differ from the release outside the students' bodies."""
    shown = []
    for name in FILES:
        given, theirs = GIVEN[name], (Path(folder) / name).read_text(encoding="utf-8")
        diff = difflib.unified_diff(
            _outside_bodies(given, given),
            _outside_bodies(theirs, given),
            f"released {name}",
            f"your {name}",
            lineterm="",
        )
        shown += list(diff)
    return shown[:most] + ([f"... and {len(shown) - most} more lines"] if len(shown) > most else [])


def _outside_bodies(text, given):
    """`text`'s lines without the bodies of the functions students complete: what they must leave
    as released (`given`)."""
    lines = text.splitlines()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return lines
    theirs = students_functions(given, STUB)
    skipped = set()
    for name, node in named_definitions(tree):
        if name in theirs:
            start = node.body[0].lineno - 1  # comments above the first statement count too
            while start > node.lineno and lines[start - 1].strip()[:1] in ("#", ""):
                start -= 1
            end, indent = node.end_lineno, node.col_offset  # and comments below the last one
            while end < len(lines) and (
                not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
            ):
                end += 1
            skipped.update(range(start, end))
    return [line for number, line in enumerate(lines) if number not in skipped]


def run_public_checks(folder):
    """Run the notebook's import cell, then each public check, printing one JSON line each."""
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    setup = {"__name__": "__main__"}
    try:
        exec(compile(SETUP, "the notebook's import cell", "exec"), setup)
    except Exception as error:
        print(json.dumps({"setup": _said(error)}), flush=True)
        return
    for grade_id, points, source in PUBLIC_CHECKS:
        try:
            exec(compile(source, f"the {grade_id} check", "exec"), dict(setup))
            error = None
        except Exception as raised:
            error = _said(raised)
        print(json.dumps({"check": grade_id, "points": points, "error": error}), flush=True)


def _said(error):
    """An exception as a student reads it: its type, its message and where in their files."""
    frames, step = [], error.__traceback__
    while step is not None:
        code = step.tb_frame.f_code
        if Path(code.co_filename).name in FILES:
            name = getattr(code, "co_qualname", code.co_name)  # Mul.backward, from Python 3.11
            frames.append(f"{Path(code.co_filename).name} line {step.tb_lineno}, in {name}")
        step = step.tb_next
    where = f" ({frames[-1]})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def public_results(folder):
    """Each public check's outcome, from a process of its own (an engine that hangs or crashes
    cannot take this check down with it); a message instead when that process failed."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--public-checks", str(folder)],
            capture_output=True,
            text=True,
            timeout=CHECKS_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return [], f"the public checks took more than {CHECKS_SECONDS} s: look for a loop"
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if lines and "setup" in lines[0]:
        return [], f"importing your files failed: {lines[0]['setup']}"
    if len(lines) < len(PUBLIC_CHECKS):
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return lines, f"the checks stopped early: {last[0]}"
    return lines, None


def main(arguments=()):
    """Report on the hand-in in the folder given (default: this file's); 0 if grading would
    accept it, 1 if it would refuse it."""
    arguments = list(arguments)
    if arguments[:1] == ["--public-checks"]:
        run_public_checks(Path(arguments[1]))
        return 0
    folder = Path(arguments[0] if arguments else Path(__file__).parent).resolve()
    print(f"Checking the hand-in in {folder} ({' and '.join(FILES)})")
    refused = refusal(folder)
    if refused is not None:
        print(f"\nNOT READY to hand in: {refused.status}\n  {refused}")
        if refused.status == "changed given code":
            print("  The given code you changed (- released, + yours):")
            print("\n".join(f"    {line}" for line in changed_lines(folder)))
        print("Grading would give this hand-in 0 points: fix the above and run this check again.")
        return 1
    print("  files, encoding, syntax and given code: as grading wants them")
    results, problem = public_results(folder)
    print("\nPublic checks (the notebook's graded cells; grading adds hidden cases):")
    for result in results:
        verdict = "passed" if result["error"] is None else "FAILED"
        said = "" if result["error"] is None else f"  {result['error'].splitlines()[0]}"
        print(f"  {verdict:<6}  {result['check']:<14} {result['points']:g} point(s){said}")
    if problem:
        print(f"  {problem}")
    passed = [r for r in results if r["error"] is None]
    total = sum(points for _, points, _ in PUBLIC_CHECKS)
    print(
        f"{len(passed)} of {len(PUBLIC_CHECKS)} public checks pass "
        f"({sum(r['points'] for r in passed):g} of {total:g} points)."
    )
    print(f"\nReady to hand in: {', '.join(FILES)}")
    if len(passed) < len(PUBLIC_CHECKS):
        print("(grading accepts them as they are; each failing check above costs its points)")
    return 0
# --- this release
FILES = (
    'toolbox.py',
    'nn.py',
)
GIVEN = {
    'toolbox.py': (
        '"""A small autograd engine on numpy, in the spirit of PyTorch.\n'
        '\n'
        'A `Tensor` wraps a float64 array. Each operation on tensors that require'
        '\n'
        "gradients creates a `Function` node, stored in the result's `grad_fn`, t"
        'hat\n'
        'remembers its inputs and whatever its backward pass needs. `Tensor.backw'
        'ard()`\n'
        'visits these nodes from the output back to the leaves (in reverse topolo'
        'gical\n'
        'order) and hands each node the gradient of its output.\n'
        '\n'
        'Your task: complete the `backward` method of every operation below.\n'
        '\n'
        '- `backward(grad)` receives the gradient of the final result with respec'
        't to\n'
        "  this operation's output (an array shaped like the output) and returns "
        'one\n'
        '  gradient per input, as a tuple in the order of the inputs.\n'
        '- You may ignore broadcasting: return each gradient shaped like the\n'
        "  broadcast result, and the engine sums it back to the input's shape\n"
        '  (see `reduce_to_shape`), just as PyTorch does.\n'
        '- `Add` is done for you; read it first.\n'
        '- Change only the bodies marked `# YOUR CODE HERE`. You may add imports '
        '(of\n'
        '  the standard library or numpy: the grader has nothing else) and helper'
        '\n'
        '  functions with new names; any other change to the given code makes the'
        '\n'
        '  grader give the hand-in 0 points, since that code is what the checks r'
        'ely on.\n'
        '"""\n'
        'import numbers\n'
        '\n'
        'import numpy as np\n'
        '\n'
        '\n'
        'class Tensor:\n'
        '    """A float64 array that can record the operations applied to it."""\n'
        '\n'
        "    # Lets `ndarray * Tensor` reach Tensor.__rmul__ instead of numpy's b"
        'roadcasting.\n'
        '    __array_ufunc__ = None\n'
        '\n'
        '    def __init__(self, data, requires_grad=False):\n'
        '        self.data = np.array(data.data if isinstance(data, Tensor) else '
        'data, dtype=np.float64)\n'
        '        self.requires_grad = bool(requires_grad)\n'
        '        self.grad = None\n'
        '        self.grad_fn = None\n'
        '\n'
        '    @classmethod\n'
        '    def _result(cls, data, grad_fn):\n'
        '        """Wrap an operation\'s output without copying it."""\n'
        '        out = cls.__new__(cls)\n'
        '        out.data = np.asarray(data, dtype=np.float64)\n'
        '        out.requires_grad = grad_fn is not None\n'
        '        out.grad = None\n'
        '        out.grad_fn = grad_fn\n'
        '        return out\n'
        '\n'
        '    @property\n'
        '    def shape(self):\n'
        '        return self.data.shape\n'
        '\n'
        '    @property\n'
        '    def ndim(self):\n'
        '        return self.data.ndim\n'
        '\n'
        '    def __repr__(self):\n'
        '        flag = ", requires_grad=True" if self.requires_grad else ""\n'
        '        body = np.array2string(self.data, prefix="Tensor(", separator=",'
        ' ")\n'
        '        return f"Tensor({body}{flag})"\n'
        '\n'
        '    # ----- gradients --------------------------------------------------'
        '-----\n'
        '\n'
        '    def zero_grad(self):\n'
        '        """Forget the accumulated gradient (gradients add up until you d'
        'o)."""\n'
        '        self.grad = None\n'
        '\n'
        '    def backward(self, grad=None):\n'
        '        """Backpropagate from this tensor, accumulating `.grad` on every'
        ' tensor reached.\n'
        '\n'
        '        `grad` is the gradient of some final quantity with respect to th'
        'is\n'
        '        tensor; it may be left out when the tensor holds a single elemen'
        't.\n'
        '        The graph is freed afterwards, as in PyTorch.\n'
        '        """\n'
        '        if not self.requires_grad:\n'
        '            raise RuntimeError(\n'
        '                "backward() was called on a tensor that does not require'
        ' grad and has no "\n'
        '                "grad_fn; create the inputs with Tensor(..., requires_gr'
        'ad=True)."\n'
        '            )\n'
        '        order = self._graph_in_topological_order()\n'
        '        pending = {self: self._seed_gradient(grad)}\n'
        '        for node in order:\n'
        '            node_grad = pending.pop(node)\n'
        '            # A copy: an operation may hand the same array to several in'
        'puts.\n'
        '            node.grad = node_grad.copy() if node.grad is None else node.'
        'grad + node_grad\n'
        '            fn = node.grad_fn\n'
        '            if fn is None:\n'
        '                continue\n'
        '            input_grads = fn.backward(node_grad)\n'
        '            for position, (parent, parent_grad) in enumerate(\n'
        '                _one_per_input(fn, input_grads)\n'
        '            ):\n'
        '                if parent.requires_grad:\n'
        '                    parent_grad = reduce_to_shape(parent_grad, parent.sh'
        'ape, fn, position)\n'
        '                    previous = pending.get(parent)\n'
        '                    pending[parent] = parent_grad if previous is None el'
        'se previous + parent_grad\n'
        '            fn.free()\n'
        '\n'
        '    def _seed_gradient(self, grad):\n'
        '        if grad is None:\n'
        '            if self.data.size != 1:\n'
        '                raise RuntimeError(\n'
        '                    f"backward() needs a gradient for a tensor of shape '
        '{self.shape}: a gradient "\n'
        '                    "can be implied only for single-element outputs; cal'
        'l backward(grad) with an "\n'
        '                    "array of that shape."\n'
        '                )\n'
        '            grad = 1.0\n'
        '        grad = np.asarray(grad.data if isinstance(grad, Tensor) else gra'
        'd, dtype=np.float64)\n'
        '        if grad.shape != self.shape and grad.ndim != 0:\n'
        '            raise RuntimeError(\n'
        '                f"backward() got a gradient of shape {grad.shape} for a '
        'tensor of shape "\n'
        '                f"{self.shape}; pass a gradient of shape {self.shape} or'
        ' a single number."\n'
        '            )\n'
        '        return np.broadcast_to(grad, self.shape).copy()\n'
        '\n'
        '    def _graph_in_topological_order(self):\n'
        '        """Tensors that need gradients, each after every tensor computed'
        ' from it."""\n'
        '        order, visited = [], set()\n'
        '        stack = [(self, False)]\n'
        '        while stack:\n'
        '            node, expanded = stack.pop()\n'
        '            if expanded:\n'
        '                order.append(node)\n'
        '                continue\n'
        '            # Marked when expanded, not when pushed: a tensor reached ag'
        'ain along a\n'
        '            # longer path must still come after every tensor computed fr'
        'om it.\n'
        '            if node in visited:\n'
        '                continue\n'
        '            visited.add(node)\n'
        '            stack.append((node, True))\n'
        '            fn = node.grad_fn\n'
        '            if fn is None:\n'
        '                continue\n'
        '            if fn.inputs is None:\n'
        '                raise RuntimeError(\n'
        '                    "Trying to backward through the graph a second time:'
        ' its intermediate "\n'
        '                    "values were freed by the first backward(). Run the '
        'forward computation "\n'
        '                    "again to build a new graph, then call backward() on'
        ' the new result."\n'
        '                )\n'
        '            for parent in fn.inputs:\n'
        '                if parent.requires_grad and parent not in visited:\n'
        '                    stack.append((parent, False))\n'
        '        order.reverse()\n'
        '        return order\n'
        '\n'
        '    # ----- operators --------------------------------------------------'
        '-----\n'
        '\n'
        '    def __add__(self, other):\n'
        '        return Add.apply(self, other)\n'
        '\n'
        '    def __radd__(self, other):\n'
        '        return Add.apply(other, self)\n'
        '\n'
        '    def __neg__(self):\n'
        '        return Mul.apply(self, -1.0)\n'
        '\n'
        '    def __sub__(self, other):\n'
        '        return Add.apply(self, -as_tensor(other))\n'
        '\n'
        '    def __rsub__(self, other):\n'
        '        return Add.apply(other, -self)\n'
        '\n'
        '    def __mul__(self, other):\n'
        '        return Mul.apply(self, other)\n'
        '\n'
        '    def __rmul__(self, other):\n'
        '        return Mul.apply(other, self)\n'
        '\n'
        '    def __truediv__(self, other):\n'
        '        return Div.apply(self, other)\n'
        '\n'
        '    def __rtruediv__(self, other):\n'
        '        return Div.apply(other, self)\n'
        '\n'
        '    def __pow__(self, exponent):\n'
        '        if isinstance(exponent, bool) or not isinstance(exponent, number'
        's.Real):\n'
        '            raise TypeError(\n'
        '                f"Tensor ** expects a Python number as exponent, got {ty'
        'pe(exponent).__name__}; "\n'
        '                "write exp(log(base) * exponent) for tensor exponents."\n'
        '            )\n'
        '        return Pow.apply(self, exponent=float(exponent))\n'
        '\n'
        '    def __matmul__(self, other):\n'
        '        return MatMul.apply(self, other)\n'
        '\n'
        '    def __rmatmul__(self, other):\n'
        '        return MatMul.apply(other, self)\n'
        '\n'
        '    def __getitem__(self, index):\n'
        '        return GetItem.apply(self, index=_plain_index(index))\n'
        '\n'
        '    def sum(self, dim=None):\n'
        '        """Sum over all elements, or over axis (or axes) `dim`, dropping'
        ' it."""\n'
        '        return Sum.apply(self, dim=dim)\n'
        '\n'
        '    def mean(self, dim=None):\n'
        '        """Mean over all elements, or over axis (or axes) `dim`, droppin'
        'g it."""\n'
        '        return Mean.apply(self, dim=dim)\n'
        '\n'
        '\n'
        'def as_tensor(value):\n'
        '    """Return `value` as a Tensor; numbers and arrays become constants."'
        '""\n'
        '    return value if isinstance(value, Tensor) else Tensor(value)\n'
        '\n'
        '\n'
        'def _plain_index(index):\n'
        '    """Replace Tensors inside an index by integer arrays."""\n'
        '    if isinstance(index, tuple):\n'
        '        return tuple(_plain_index(part) for part in index)\n'
        '    if isinstance(index, Tensor):\n'
        '        return index.data.astype(np.intp)\n'
        '    return index\n'
        '\n'
        '\n'
        'def _one_per_input(fn, input_grads):\n'
        '    """Pair each input of `fn` with its gradient, checking that there is'
        ' one each."""\n'
        '    if not isinstance(input_grads, (tuple, list)):\n'
        '        input_grads = (input_grads,)\n'
        '    if len(input_grads) != len(fn.inputs):\n'
        '        raise RuntimeError(\n'
        '            f"{type(fn).__name__}.backward returned {len(input_grads)} g'
        'radient(s) for "\n'
        '            f"{len(fn.inputs)} input(s); return a tuple with one gradien'
        't per input."\n'
        '        )\n'
        '    return zip(fn.inputs, input_grads)\n'
        '\n'
        '\n'
        'def reduce_to_shape(grad, shape, fn=None, position=0):\n'
        '    """Sum a gradient over the axes broadcasting added, so it matches `s'
        'hape`.\n'
        '\n'
        '    This is the one place where broadcasting is undone, so no operation '
        'has to.\n'
        '    """\n'
        '    where = f"{type(fn).__name__}.backward" if fn is not None else "a ba'
        'ckward function"\n'
        '    if grad is None:\n'
        '        raise RuntimeError(\n'
        '            f"{where} returned None for input {position}; return an arra'
        'y of the input\'s shape."\n'
        '        )\n'
        '    grad = np.asarray(grad, dtype=np.float64)\n'
        '    if grad.shape == shape:\n'
        '        return grad\n'
        '    extra = grad.ndim - len(shape)\n'
        '    if extra < 0 or any(\n'
        '        have != want and want != 1 for have, want in zip(grad.shape[extr'
        'a:], shape)\n'
        '    ):\n'
        '        raise RuntimeError(\n'
        '            f"{where} returned a gradient of shape {grad.shape} for inpu'
        't {position} of "\n'
        '            f"shape {shape}; it must have the input\'s shape (or the broa'
        'dcast output\'s shape)."\n'
        '        )\n'
        '    grad = grad.sum(axis=tuple(range(extra)))\n'
        '    stretched = tuple(axis for axis, want in enumerate(shape) if want =='
        ' 1 and grad.shape[axis] != 1)\n'
        '    return grad.sum(axis=stretched, keepdims=True) if stretched else gra'
        'd\n'
        '\n'
        '\n'
        'class Function:\n'
        '    """One node of the graph: an operation\'s forward and backward side b'
        'y side.\n'
        '\n'
        "    `apply` runs `forward` on the inputs' arrays and, if any input requi"
        'res\n'
        "    gradients, records the node as the output's `grad_fn`. Subclasses st"
        'ore in\n'
        '    `self` whatever `backward` will need.\n'
        '    """\n'
        '\n'
        '    inputs = None\n'
        '\n'
        '    @classmethod\n'
        '    def apply(cls, *inputs, **options):\n'
        '        tensors = tuple(as_tensor(value) for value in inputs)\n'
        '        fn = cls()\n'
        '        data = fn.forward(*(tensor.data for tensor in tensors), **option'
        's)\n'
        '        if not any(tensor.requires_grad for tensor in tensors):\n'
        '            return Tensor._result(data, None)\n'
        '        fn.inputs = tensors\n'
        '        return Tensor._result(data, fn)\n'
        '\n'
        '    def forward(self, *arrays, **options):\n'
        '        raise NotImplementedError\n'
        '\n'
        '    def backward(self, grad):\n'
        '        raise NotImplementedError\n'
        '\n'
        '    def free(self):\n'
        '        """Drop the inputs and saved arrays once backward has used them.'
        '"""\n'
        '        vars(self).clear()\n'
        '        self.inputs = None\n'
        '\n'
        '    def __repr__(self):\n'
        '        return f"<{type(self).__module__}.{type(self).__name__} object a'
        't {id(self):#x}>"\n'
        '\n'
        '\n'
        'class Add(Function):\n'
        '    """a + b. Worked example: addition passes the gradient on unchanged '
        'to both inputs."""\n'
        '\n'
        '    def forward(self, a, b):\n'
        '        return a + b\n'
        '\n'
        '    def backward(self, grad):\n'
        '        return grad, grad\n'
        '\n'
        '\n'
        'class Mul(Function):\n'
        '    """a * b, elementwise."""\n'
        '\n'
        '    def forward(self, a, b):\n'
        '        self.a, self.b = a, b\n'
        '        return a * b\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Div(Function):\n'
        '    """a / b, elementwise."""\n'
        '\n'
        '    def forward(self, a, b):\n'
        '        self.a, self.b = a, b\n'
        '        return a / b\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Pow(Function):\n'
        '    """a ** exponent, for a constant number `exponent`."""\n'
        '\n'
        '    def forward(self, a, exponent):\n'
        '        self.a, self.exponent = a, exponent\n'
        '        return a**exponent\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class MatMul(Function):\n'
        '    """a @ b, matrix product of (stacks of) matrices."""\n'
        '\n'
        '    def forward(self, a, b):\n'
        '        if a.ndim < 2 or b.ndim < 2:\n'
        '            raise ValueError(\n'
        '                f"@ expects matrices, got shapes {a.shape} and {b.shape}'
        '; store vectors as "\n'
        '                "columns of shape (n, 1)."\n'
        '            )\n'
        '        self.a, self.b = a, b\n'
        '        return a @ b\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class ReLU(Function):\n'
        '    """max(a, 0), elementwise; its derivative at exactly 0 is taken as 0'
        '."""\n'
        '\n'
        '    def forward(self, a):\n'
        '        self.a = a\n'
        '        return np.maximum(a, 0.0)\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Exp(Function):\n'
        '    """e ** a, elementwise."""\n'
        '\n'
        '    def forward(self, a):\n'
        '        self.out = np.exp(a)\n'
        '        return self.out\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Log(Function):\n'
        '    """Natural logarithm, elementwise."""\n'
        '\n'
        '    def forward(self, a):\n'
        '        self.a = a\n'
        '        return np.log(a)\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Sum(Function):\n'
        '    """Sum over all elements (dim=None) or over axis `dim`, which disapp'
        'ears."""\n'
        '\n'
        '    def forward(self, a, dim):\n'
        '        self.shape, self.dim = a.shape, dim\n'
        '        return a.sum(axis=dim)\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class Mean(Function):\n'
        '    """Mean over all elements (dim=None) or over axis `dim`, which disap'
        'pears."""\n'
        '\n'
        '    def forward(self, a, dim):\n'
        '        out = a.mean(axis=dim)\n'
        '        self.shape, self.dim, self.count = a.shape, dim, a.size // max(n'
        'p.size(out), 1)\n'
        '        return out\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class GetItem(Function):\n'
        '    """a[index] for basic and integer-array indices; repeated indices ad'
        'd up."""\n'
        '\n'
        '    def forward(self, a, index):\n'
        '        self.shape, self.index = a.shape, index\n'
        '        return a[index]\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'def relu(x):\n'
        '    """Elementwise max(x, 0)."""\n'
        '    return ReLU.apply(x)\n'
        '\n'
        '\n'
        'def exp(x):\n'
        '    """Elementwise e ** x."""\n'
        '    return Exp.apply(x)\n'
        '\n'
        '\n'
        'def log(x):\n'
        '    """Elementwise natural logarithm."""\n'
        '    return Log.apply(x)\n'
    ),
    'nn.py': (
        '"""Network layers, a loss and an optimiser built on the `toolbox` engine'
        '.\n'
        '\n'
        'Data is laid out in columns, as in the lecture: one example is a column\n'
        'vector of shape (features, 1) and a batch of examples has shape\n'
        '(features, batch). A linear layer therefore computes `W @ x + b`.\n'
        '"""\n'
        'import numpy as np\n'
        '\n'
        'import toolbox as tb\n'
        'from toolbox import Tensor\n'
        '\n'
        '\n'
        'class LinearLayer:\n'
        '    """y = W @ x + b with W of shape (out, in) and b of shape (out, 1)."'
        '""\n'
        '\n'
        '    def __init__(self, W, b):\n'
        '        self.W = Tensor(W, requires_grad=True)\n'
        '        self.b = Tensor(b, requires_grad=True)\n'
        '        if self.W.ndim != 2 or self.b.shape != (self.W.shape[0], 1):\n'
        '            raise ValueError(\n'
        '                f"LinearLayer needs W of shape (out, in) and b of shape '
        '(out, 1); got W "\n'
        '                f"{self.W.shape} and b {self.b.shape}."\n'
        '            )\n'
        '\n'
        '    @classmethod\n'
        '    def initialised(cls, n_in, n_out, rng):\n'
        '        """A layer with He-initialised weights (suits ReLU networks) and'
        ' zero bias."""\n'
        '        W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))\n'
        '        return cls(W, np.zeros((n_out, 1)))\n'
        '\n'
        '    def forward(self, x):\n'
        '        return self.W @ x + self.b\n'
        '\n'
        '    def parameters(self):\n'
        '        return [self.W, self.b]\n'
        '\n'
        '\n'
        'class ReLU:\n'
        '    """Elementwise max(x, 0) as a layer."""\n'
        '\n'
        '    def forward(self, x):\n'
        '        return tb.relu(x)\n'
        '\n'
        '    def parameters(self):\n'
        '        return []\n'
        '\n'
        '\n'
        'class Network:\n'
        '    """Layers applied one after the other."""\n'
        '\n'
        '    def __init__(self):\n'
        '        self.layers = []\n'
        '\n'
        '    def add_layer(self, layer):\n'
        '        self.layers.append(layer)\n'
        '\n'
        '    def forward(self, x):\n'
        '        for layer in self.layers:\n'
        '            x = layer.forward(x)\n'
        '        return x\n'
        '\n'
        '    def parameters(self):\n'
        '        return [p for layer in self.layers for p in layer.parameters()]\n'
        '\n'
        '\n'
        'class SoftmaxCrossEntropy(tb.Function):\n'
        '    """Mean cross-entropy between softmax(logits) and integer class labe'
        'ls.\n'
        '\n'
        '    Fused into one graph node rather than composed from exp, sum and log'
        ':\n'
        '    the forward pass can then use the log-sum-exp shift, which keeps it '
        'exact\n'
        '    for logits in the hundreds where a plain exp overflows, and the back'
        'ward\n'
        '    pass is the short, well-known (softmax - one_hot) / batch instead of'
        ' a\n'
        '    chain of eight nodes, which is also much faster.\n'
        '    """\n'
        '\n'
        '    def forward(self, logits, target):\n'
        '        columns = np.arange(logits.shape[1])\n'
        '        shifted = logits - logits.max(axis=0, keepdims=True)\n'
        '        log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdim'
        's=True))\n'
        '        self.probs, self.target, self.columns = np.exp(log_probs), targe'
        't, columns\n'
        '        return -log_probs[target, columns].mean()\n'
        '\n'
        '    def backward(self, grad):\n'
        '        # YOUR CODE HERE\n'
        '        raise NotImplementedError()\n'
        '\n'
        '\n'
        'class CrossEntropyLoss:\n'
        '    """Mean softmax cross-entropy of logits (classes, batch) against cla'
        'ss labels."""\n'
        '\n'
        '    def forward(self, logits, target):\n'
        '        """`target` is one class index (a single column) or an int array'
        ' of shape (batch,)."""\n'
        '        logits = tb.as_tensor(logits)\n'
        '        return SoftmaxCrossEntropy.apply(logits, target=_checked_target('
        'logits.shape, target))\n'
        '\n'
        '\n'
        'def _checked_target(logits_shape, target):\n'
        '    if len(logits_shape) != 2:\n'
        '        raise ValueError(\n'
        '            f"CrossEntropyLoss expects logits of shape (classes, batch),'
        ' got {logits_shape}."\n'
        '        )\n'
        '    classes, batch = logits_shape\n'
        '    target = np.asarray(target)\n'
        '    if not np.issubdtype(target.dtype, np.integer):\n'
        '        raise TypeError(f"CrossEntropyLoss expects integer class labels,'
        ' got dtype {target.dtype}.")\n'
        '    if target.ndim == 0:\n'
        '        target = target.reshape(1)\n'
        '    if target.shape != (batch,):\n'
        '        raise ValueError(\n'
        '            f"CrossEntropyLoss got {target.size} label(s) of shape {targ'
        'et.shape} for a batch "\n'
        '            f"of {batch} column(s); pass one int per column, shape ({bat'
        'ch},)."\n'
        '        )\n'
        '    if target.min() < 0 or target.max() >= classes:\n'
        '        raise ValueError(\n'
        '            f"CrossEntropyLoss labels must lie in [0, {classes}), got {t'
        'arget.min()}..{target.max()}."\n'
        '        )\n'
        '    return target\n'
        '\n'
        '\n'
        'class SGD:\n'
        '    """Plain stochastic gradient descent: p <- p - lr * p.grad."""\n'
        '\n'
        '    def __init__(self, parameters, lr):\n'
        '        self.parameters = list(parameters)\n'
        '        self.lr = lr\n'
        '\n'
        '    def step(self):\n'
        '        for p in self.parameters:\n'
        '            if p.grad is not None:\n'
        '                p.data -= self.lr * p.grad\n'
        '\n'
        '    def zero_grad(self):\n'
        '        for p in self.parameters:\n'
        '            p.zero_grad()\n'
    ),
}
STUB = (
    '# YOUR CODE HERE\n'
    'raise NotImplementedError()'
)
SETUP = (
    '\n'
    'import numpy as np\n'
    '\n'
    'import nn\n'
    'import toolbox as tb\n'
    'from drawgraph import draw_graph\n'
    'from gradcheck import gradcheck\n'
    'from toolbox import Tensor'
)
PUBLIC_CHECKS = (
    (
        'multiplication',
        1.0,
        (
            'a = Tensor(2.0, requires_grad=True)\n'
            'b = Tensor(3.0, requires_grad=True)\n'
            '\n'
            'c = a * b\n'
            'c.backward(2.0)\n'
            'print(a.grad)\n'
            'print(b.grad)\n'
            'print(c.grad)\n'
            'assert np.abs(a.grad - 6.0) < 1e-6, f"Mul: d(a*b)/da should be b; expect'
            'ed a.grad = 6, got {a.grad}"\n'
            'assert np.abs(b.grad - 4.0) < 1e-6, f"Mul: d(a*b)/db should be a; expect'
            'ed b.grad = 4, got {b.grad}"'
        ),
    ),
    (
        'division',
        1.0,
        (
            'a = Tensor(np.array([1.0, 2.0]), requires_grad=True)\n'
            'b = Tensor(np.array([3.0, 4.0]), requires_grad=True)\n'
            '\n'
            'c = a / b\n'
            'c.backward(0.5)\n'
            '\n'
            'assert np.allclose(a.grad, [1 / 6, 1 / 8]), f"Div: expected a.grad = [1/'
            '6, 1/8] (grad / b), got {a.grad}"\n'
            'assert np.allclose(b.grad, [-1 / 18, -1 / 16]), f"Div: expected b.grad ='
            ' [-1/18, -1/16] (-grad * a / b**2), got {b.grad}"'
        ),
    ),
    (
        'power',
        1.0,
        (
            'A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            '\n'
            'b = A**4\n'
            'b.backward(np.array([[-1.0, 0], [1.0, 2.0]]))\n'
            '\n'
            'assert np.allclose(A.grad, [[-4.0, 0.0], [108.0, 512.0]]), f"Pow: expect'
            'ed 4 * A**3 * grad, got {A.grad}"'
        ),
    ),
    (
        'matmul',
        2.0,
        (
            'A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            'b = Tensor(np.array([[1.0], [2.0]]), requires_grad=True)\n'
            'c = Tensor(np.array([[3.0, 4.0]]), requires_grad=True)\n'
            '\n'
            'd = c @ A @ b\n'
            'd.backward(-1.5)\n'
            'print(A.grad)\n'
            'print(c.grad)\n'
            'print(b.grad)\n'
            'print(d.grad)\n'
            'assert np.allclose(A.grad, [[-4.5, -9.0], [-6.0, -12.0]]), (\n'
            '    f"MatMul: expected A.grad = [[-4.5, -9], [-6, -12]], got {A.grad}"\n'
            ')\n'
            'assert np.allclose(b.grad, [[-22.5], [-33.0]]), (\n'
            '    f"MatMul: expected b.grad = [[-22.5], [-33]], got {b.grad}"\n'
            ')\n'
            'assert np.allclose(c.grad, [[-7.5, -16.5]]), (\n'
            '    f"MatMul: expected c.grad = [[-7.5, -16.5]], got {c.grad}"\n'
            ')'
        ),
    ),
    (
        'relu',
        1.0,
        (
            'A = Tensor(np.array([[-1.0, -2], [0.5, 2.0], [1.0, 5.0]]), requires_grad'
            '=True)\n'
            '\n'
            'b = tb.relu(A)\n'
            'b.backward(np.array([[4.0, 3.0], [2.0, 1.0], [0.0, -1.0]]))\n'
            '\n'
            'assert np.allclose(A.grad, [[0.0, 0.0], [2.0, 1.0], [0.0, -1.0]]), f"ReL'
            'U: gradient passes only where A > 0, got {A.grad}"\n'
            '\n'
            '# At exactly 0 relu has no derivative; like PyTorch, this engine takes i'
            't as 0.\n'
            'x = Tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)\n'
            'tb.relu(x).backward(np.array([5.0, 5.0, 5.0]))\n'
            'print(x.grad)\n'
            'assert np.allclose(x.grad, [0.0, 0.0, 5.0]), (\n'
            '    "ReLU: at exactly 0 the gradient is taken as 0: pass grad where x > '
            '0, not x >= 0; "\n'
            '    f"expected [0, 0, 5], got {x.grad}"\n'
            ')'
        ),
    ),
    (
        'exp',
        1.0,
        (
            'A = Tensor(np.array([[-1.0], [2.0]]), requires_grad=True)\n'
            '\n'
            'b = tb.exp(A)\n'
            'b.backward(np.array([[-1.0], [2.0]]))\n'
            '\n'
            'assert np.allclose(A.grad, np.exp(A.data) * np.array([[-1.0], [2.0]])), '
            'f"Exp: expected exp(A) * grad, got {A.grad}"'
        ),
    ),
    (
        'log',
        1.0,
        (
            'A = Tensor(np.array([0.1, 1.0, 2.0, np.exp(100.0)]), requires_grad=True)'
            '\n'
            '\n'
            'b = tb.log(A)\n'
            'b.backward(1.5)\n'
            '\n'
            'assert np.allclose(A.grad, [15.0, 1.5, 0.75, 1.5 * np.exp(-100.0)]), f"L'
            'og: expected grad / A, got {A.grad}"'
        ),
    ),
    (
        'sum',
        1.0,
        (
            'A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            '\n'
            'b = A.sum(dim=1)\n'
            'b = b.sum()\n'
            'b.backward(2.5)\n'
            '\n'
            'assert np.allclose(A.grad, 2.5 * np.ones((2, 2))), f"Sum: every element '
            'should get the gradient 2.5, got {A.grad}"\n'
            '\n'
            '# Summing along dim=1 removes that axis; backward must put it back (np.e'
            'xpand_dims)\n'
            "# before spreading the gradient over the input's shape.\n"
            'R = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            'R.sum(dim=1).backward(np.array([10.0, 20.0]))\n'
            'print(R.grad)\n'
            'assert np.allclose(R.grad, [[10.0, 10.0], [20.0, 20.0]]), (\n'
            '    "Sum: row i of sum(dim=1) gets grad[i]; restore the summed axis with'
            ' "\n'
            '    f"np.expand_dims(grad, dim) before broadcasting; expected [[10, 10],'
            ' [20, 20]], got {R.grad}"\n'
            ')'
        ),
    ),
    (
        'mean',
        1.0,
        (
            'A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            '\n'
            'b = A.mean()\n'
            'b.backward()\n'
            '\n'
            'assert np.allclose(A.grad, 0.25 * np.ones((2, 2))), f"Mean: every elemen'
            't should get 1/4, got {A.grad}"'
        ),
    ),
    (
        'indexing',
        2.0,
        (
            'A = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)\n'
            '\n'
            'b = A[0, 1]\n'
            'b.backward(5.0)\n'
            '\n'
            'assert np.allclose(A.grad, 5.0 * np.array([[0.0, 1.0], [0.0, 0.0]])), f"'
            'GetItem: only A[0, 1] should get the gradient, got {A.grad}"\n'
            '\n'
            '# An index picked twice gets the gradient of both picks.\n'
            'v = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)\n'
            'v[np.array([0, 2, 0])].backward(np.array([1.0, 10.0, 100.0]))\n'
            'print(v.grad)\n'
            'assert np.allclose(v.grad, [101.0, 0.0, 10.0]), (\n'
            '    "GetItem: gradients of repeated indices add up: use np.add.at(result'
            ', index, grad), "\n'
            '    f"not result[index] = grad; expected [101, 0, 10], got {v.grad}"\n'
            ')'
        ),
    ),
    (
        'network',
        3.0,
        (
            'network = nn.Network()\n'
            'network.add_layer(nn.LinearLayer(np.array([[1.0, 2.0], [3.0, 4.0]]), np.'
            'array([[1.0], [2.0]])))\n'
            'network.add_layer(nn.ReLU())\n'
            'network.add_layer(nn.LinearLayer(np.array([[1.0, 2.0], [3.0, 4.0], [5.0,'
            ' 6.0]]), np.array([[1.0], [2.0], [3.0]])))\n'
            '\n'
            'loss = nn.CrossEntropyLoss()\n'
            '\n'
            'data = Tensor(np.array([[1.0], [2.0]]))\n'
            'target = 1\n'
            '\n'
            'l = loss.forward(network.forward(data), target)\n'
            'l.backward()\n'
            '\n'
            'assert np.allclose(network.layers[0].W.grad, [[2.0, 4.0], [2.0, 4.0]]), '
            '(\n'
            '    f"Network: expected the first layer\'s W.grad = [[2, 4], [2, 4]], got'
            ' {network.layers[0].W.grad}"\n'
            ')\n'
            'assert np.allclose(network.layers[0].b.grad, [[2.0], [2.0]]), (\n'
            '    f"Network: expected the first layer\'s b.grad = [[2], [2]], got {netw'
            'ork.layers[0].b.grad}"\n'
            ')\n'
            'W2_expected = [[8.00168889e-34, 1.73369926e-33], [-6.0, -13.0], [6.0, 13'
            '.0]]\n'
            'assert np.allclose(network.layers[2].W.grad, W2_expected), (\n'
            '    "Network: expected the last layer\'s W.grad = [[0, 0], [-6, -13], [6,'
            ' 13]], "\n'
            '    f"got {network.layers[2].W.grad}"\n'
            ')\n'
            'assert np.allclose(network.layers[2].b.grad, [[1.33361482e-34], [-1.0], '
            '[1.0]]), (\n'
            '    f"Network: expected the last layer\'s b.grad = [[0], [-1], [1]], got '
            '{network.layers[2].b.grad}"\n'
            ')\n'
            '\n'
            '# A batch of two examples (one per column): the loss is the mean over th'
            'e batch.\n'
            'logits = Tensor(np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]]), require'
            's_grad=True)\n'
            'loss.forward(logits, np.array([0, 2])).backward()\n'
            'print(logits.grad)\n'
            'expected = [\n'
            '    [-0.3776357645, 0.0083222593],\n'
            '    [0.3326204779, 0.0372977786],\n'
            '    [0.0450152866, -0.0456200379],\n'
            ']\n'
            'assert np.allclose(logits.grad, expected), (\n'
            '    "CrossEntropyLoss: the loss is the mean over the batch, so backward '
            'divides by the batch "\n'
            '    f"size (2 here); expected {expected}, got {logits.grad}"\n'
            ')'
        ),
    ),
)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
