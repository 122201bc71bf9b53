"""Grading reads the graded cells' ids and points from the current file of the notebook pair."""
import os
import shutil
import subprocess
import sys

from course import COURSE_ROOT
from course.notebook import SAME_TIME_SECONDS, graded_cells, read_graded_cells, read_notebook

SCRIPT = COURSE_ROOT / "source" / "backprop" / "backprop.py"


def ids_and_points(cells):
    return [(cell.grade_id, cell.points) for cell in cells]


def pair_in(folder):
    for suffix in (".py", ".ipynb"):
        shutil.copy(SCRIPT.with_suffix(suffix), folder / f"backprop{suffix}")
    return folder / "backprop.py"


def age(path, seconds):
    stat = path.stat()
    os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds))


def test_both_files_of_the_pair_give_the_same_cells():
    from_script = graded_cells(read_notebook(SCRIPT))
    from_notebook = graded_cells(read_notebook(SCRIPT.with_suffix(".ipynb")))
    assert ids_and_points(from_script) == ids_and_points(from_notebook) and len(from_script) == 11
    assert [cell.source for cell in from_script] == [cell.source for cell in from_notebook]


def test_the_script_wins_when_it_was_edited_after_the_notebook(tmp_path):
    script = pair_in(tmp_path)
    script.write_text(script.read_text(encoding="utf-8").replace('"grade_id": "multiplication", "locked": true, "points": 1',
                                                                   '"grade_id": "multiplication", "locked": true, "points": 4'),
                      encoding="utf-8")
    age(script.with_suffix(".ipynb"), 10 * SAME_TIME_SECONDS)
    assert ids_and_points(read_graded_cells(script))[0] == ("multiplication", 4.0)


def test_a_current_notebook_is_read_without_jupytext(tmp_path):
    script = pair_in(tmp_path)
    age(script, 10 * SAME_TIME_SECONDS)
    code = ("import sys; from course.notebook import read_graded_cells; "
            f"cells = read_graded_cells({str(script)!r}); print(len(cells), 'jupytext' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=COURSE_ROOT)
    assert done.stdout.split() == ["11", "False"]
