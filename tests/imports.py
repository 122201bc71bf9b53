"""What a module imports, read from its syntax tree: for the tests that hold imports to a rule."""

import ast


def imported_tops(path, inside_functions=True):
    """The top-level names (`numpy` of `numpy.linalg`) of the absolute imports in the module at
    `path`; without `inside_functions`, only those that run when it is loaded."""
    found, waiting = set(), [ast.parse(path.read_text(encoding="utf-8"))]
    while waiting:
        node = waiting.pop()
        if not inside_functions and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        waiting += ast.iter_child_nodes(node)
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found
