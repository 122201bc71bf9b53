"""Run the assignment notebook against the reference engine and show what it checks."""
from course import COURSE_ROOT
from course.notebook import execute, graded_cells, read_notebook

SOURCE = COURSE_ROOT / "source" / "backprop"


def add_arguments(parser):
    pass


def run(args):
    notebook = read_notebook(SOURCE / "backprop.py")
    print(f"Running {SOURCE.relative_to(COURSE_ROOT) / 'backprop.py'} against the reference engine ...")
    execute(notebook, SOURCE, timeout=300)
    cells = graded_cells(notebook)
    for cell in cells:
        print(f"  passed  {cell.grade_id:<15} {cell.points:g} point(s)")
    print(f"All {len(cells)} graded checks pass: {sum(c.points for c in cells):g} points.")
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "test accuracy" in output.get("text", ""):
                print("Training demo on scikit-learn digits:", output["text"].strip())
    return 0
