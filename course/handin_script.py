"""Write the release's check_handin.py: grading's own refusal rules and the public checks, in one
file that needs only the standard library, so students run exactly what grading applies."""

import ast
from pathlib import Path

import base.handin
import base.text
import course.handin_check
from base.notebook import graded_cells, public_notebook

SCRIPT_NAME = "check_handin.py"
PARTS = (base.text, base.handin, course.handin_check)  # in the order they are written
HEADER = '''\
"""Check your hand-in before you hand it in: `python check_handin.py` in this folder.

It says whether grading would accept your files (present, UTF-8, valid Python, the given code
left as released) and runs every public check of the notebook on them. Written by the course's
release from its grading rules: do not edit it, and you need not hand it in.
"""
'''


def check_script(notebook, files, given, stub, config=None):
    """The text of check_handin.py for a release of `notebook` whose students complete `files`
    (released as the texts in `given`), with nbgrader's code `stub` and `config`."""
    public = graded_cells(public_notebook(notebook, config))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    data = {
        "FILES": tuple(files),
        "GIVEN": {name: given[name] for name in files},
        "STUB": stub,
        "SETUP": _without_magics(code[0].source) if code else "",
        "PUBLIC_CHECKS": tuple((cell.grade_id, cell.points, cell.source) for cell in public),
    }
    parts = [HEADER]
    for module in PARTS:
        parts.append(f"# --- {Path(module.__file__).parent.name}/{Path(module.__file__).name}")
        parts.append(_without_our_imports(Path(module.__file__).read_text(encoding="utf-8")))
    parts.append("# --- this release")
    parts += [f"{name} = {_literal(value)}" for name, value in data.items()]
    parts.append('\nif __name__ == "__main__":\n    sys.exit(main(sys.argv[1:]))\n')
    return "\n".join(parts)


def _literal(value, indent=""):
    """`value` (strings, numbers, tuples, dicts of them) as Python source in lines of at most
    about 90 characters: a long text as adjacent strings, a piece of a line each."""
    inner = indent + "    "
    if isinstance(value, str):
        pieces = [
            line[start : start + 72]
            for line in value.splitlines(keepends=True) or [""]
            for start in range(0, max(len(line), 1), 72)
        ]
        if len(pieces) == 1:
            return repr(pieces[0])
        return "(\n" + "".join(f"{inner}{piece!r}\n" for piece in pieces) + f"{indent})"
    if isinstance(value, dict):
        items = "".join(
            f"{inner}{key!r}: {_literal(item, inner)},\n" for key, item in value.items()
        )
        return "{\n" + items + indent + "}"
    if isinstance(value, (tuple, list)):
        items = "".join(f"{inner}{_literal(item, inner)},\n" for item in value)
        return "(\n" + items + indent + ")"
    return repr(value)


def _without_magics(source):
    """A notebook cell as plain Python: IPython's % and ! lines left out."""
    return "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )


def _without_our_imports(source):
    """`source` without its imports of our packages: their names are defined earlier in the file."""
    lines = source.splitlines()
    ours = {
        number
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").split(".")[0] in ("base", "course")
        for number in range(node.lineno - 1, node.end_lineno)
    }
    return "\n".join(line for number, line in enumerate(lines) if number not in ours)
