"""A notebook cut down to its graded cells and the code cells they need, for timing nbgrader on
the graded cells alone.

The rule, from the code alone: walking the notebook from its end, a code cell is kept when it is
an nbgrader cell (graded, solution or locked) or binds a name (assignment, import, def, class)
that a cell kept after it reads before binding it itself; a kept cell's reads are needed in
turn. Graded cells are read as nbgrader runs them, from the source notebook (hidden tests
included). A cell that is not Python once IPython's line magics are blanked out is kept, and so
is every code cell before it, since what it reads is unknown. Markdown cells stay (they cost
nothing to run). Side effects no name shows (a seed set, a file written) would escape the rule:
the benchmark checks that the cut notebooks score as the whole ones.
"""

import ast

import nbformat

EVERYTHING = None  # needed names when a kept cell could read anything


def python_of(source):
    """The cell's Python: lines of IPython line magics (%) and shell escapes (!) blanked out."""
    lines = source.splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def bound_by(node):
    """Names a statement binds; "*" for a star import, which may bind any."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            names.add(child.id)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in child.names}
    return names


def read_by(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def names(source):
    """(names the cell reads before binding them, names it binds), or None if it is not Python.
    Reads inside a statement that also binds the name count as reads first (an
    over-estimate, which only keeps more cells)."""
    try:
        tree = ast.parse(python_of(source))
    except SyntaxError:
        return None
    free, bound = set(), set()
    for statement in tree.body:
        free |= read_by(statement) - bound
        bound |= bound_by(statement)
    return free, bound


def cells_to_keep(cells, graded_sources):
    """Indices of `cells` (nbformat cells) the rule keeps, in order; `graded_sources` maps a
    graded cell's grade_id to the source nbgrader runs in its place."""
    needed, keep = set(), []
    for index in reversed(range(len(cells))):
        cell = cells[index]
        if cell.cell_type != "code":
            keep.append(index)
            continue
        nbgrader = cell.metadata.get("nbgrader", {})
        found = names(graded_sources.get(nbgrader.get("grade_id"), cell.source))
        if not (nbgrader or found is None or needs(needed, found[1])):
            continue
        keep.append(index)
        if found is None or needed is EVERYTHING:
            needed = EVERYTHING
        else:
            needed |= found[0]
    return sorted(keep)


def needs(needed, bound):
    return needed is EVERYTHING or "*" in bound or bool(needed & bound)


def graded_sources(source_notebook):
    """{grade_id: source} of the graded cells of the instructor's notebook at `source_notebook`."""
    notebook = nbformat.read(source_notebook, as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    }


def cut(path, sources):
    """Rewrite the notebook at `path` with only the cells the rule keeps; return the code cells
    dropped, as (index, first line)."""
    notebook = nbformat.read(path, as_version=4)
    keep = set(cells_to_keep(notebook.cells, sources))
    dropped = [
        (index, cell.source.strip().splitlines()[0] if cell.source.strip() else "")
        for index, cell in enumerate(notebook.cells)
        if index not in keep
    ]
    notebook.cells = [cell for index, cell in enumerate(notebook.cells) if index in keep]
    nbformat.write(notebook, path)
    return dropped
