"""The packages stand on one another one way: base is the floor, grader stands on it, the
course's command line on both; no import runs back up (imports inside functions count too)."""

import ast

import pytest
from imports import imported_tops

from base.paths import COURSE_ROOT

OURS = ("base", "course", "grader", "toolbox_solution")
# package -> the packages of ours it may import besides itself
ALLOWED = {
    "base": set(),
    "toolbox_solution": set(),
    "grader": {"base", "toolbox_solution"},
    "course": {"base", "grader", "toolbox_solution"},
}


def imported_packages(path):
    """The packages of ours that the module at `path` imports, anywhere in it."""
    return imported_tops(path) & set(OURS)


@pytest.mark.parametrize("package", OURS)
def test_a_package_imports_only_the_floors_below_it(package):
    uses = {
        path.relative_to(COURSE_ROOT).as_posix(): imported_packages(path) - {package}
        for path in (COURSE_ROOT / package).rglob("*.py")
    }
    wrong = {module: sorted(found - ALLOWED[package]) for module, found in uses.items()}
    assert {module: found for module, found in wrong.items() if found} == {}


def test_the_allowed_imports_have_no_cycle():
    def reaches(start, target, seen=()):
        return any(
            below == target or (below not in seen and reaches(below, target, (*seen, below)))
            for below in ALLOWED[start]
        )

    assert not any(reaches(package, package) for package in ALLOWED)


ASSIGNMENT_WORDS = {"backprop", "toolbox", "nn", "tensor", "relu", "matmul", "network"}


def code_words(path):
    """The names and string constants of a module's code, lowercased, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.alias):
            words.update(node.name.split("."))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                words.update(ast.literal_eval(repr(node.value)).replace(".", " ").split())
    return {word.lower().strip("'\"`,:;()") for word in words}


def test_the_generic_grader_names_no_assignment_and_no_operation():
    generic = [
        path
        for path in (COURSE_ROOT / "grader").rglob("*.py")
        if "assignments" not in path.relative_to(COURSE_ROOT / "grader").parts[:1]
    ]
    named = {
        path.relative_to(COURSE_ROOT).as_posix(): sorted(code_words(path) & ASSIGNMENT_WORDS)
        for path in generic
    }
    assert {module: words for module, words in named.items() if words} == {}
