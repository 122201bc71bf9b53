"""A small synthetic class of hand-ins, for the demo and the benchmarks.

Real submissions are student data and never enter the repository, so the demo
builds its own: one student hands in the solution, one the untouched stubs,
and each of the others the solution with ONE typical mistake. A mistake is
data: the file, the class whose solution region it replaces, and the wrong
body a student might write there.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from base.nbgrader_settings import load_config, student_files
from base.paths import COURSE_ROOT
from course.markers import find_regions
from course.strip import solution_clearer, strip_solutions

NOTEBOOK = "backprop.ipynb"
# Stands for the hand-in's number in the comment that makes a distinct class's files differ.
HANDIN_MARK = "hand-in NUMBER"


@dataclass(frozen=True)
class Mistake:
    name: str
    file: str
    cls: str
    body: str


MISTAKES = (
    Mistake(
        "Mul backward swaps its inputs",
        "toolbox.py",
        "Mul",
        "return grad * self.a, grad * self.b\n",
    ),
    Mistake(
        "Div backward sign error",
        "toolbox.py",
        "Div",
        "return grad / self.b, grad * self.a / self.b**2\n",
    ),
    Mistake(
        "ReLU passes the gradient at 0", "toolbox.py", "ReLU", "return (grad * (self.a >= 0),)\n"
    ),
    Mistake(
        "Sum forgets its dim", "toolbox.py", "Sum", "return (np.broadcast_to(grad, self.shape),)\n"
    ),
    Mistake(
        "GetItem assigns instead of accumulating",
        "toolbox.py",
        "GetItem",
        "out = np.zeros(self.shape)\nout[self.index] = grad\nreturn (out,)\n",
    ),
    Mistake(
        "MatMul without transposes", "toolbox.py", "MatMul", "return grad @ self.b, self.a @ grad\n"
    ),
    Mistake(
        "softmax cross-entropy not divided by the batch",
        "nn.py",
        "SoftmaxCrossEntropy",
        "dlogits = self.probs.copy()\ndlogits[self.target, self.columns] -= 1.0\nreturn (grad * "
        "dlogits,)\n",
    ),
)

STUDENTS = (
    "ada lovelace",
    "Émile Borel",
    "Sofja Kowalewskaja",
    "Carl Friedrich Gauß",
    "Srinivasa Ramanujan",
    "Emmy Noether",
    "Kurt Gödel",
    "Maryam Mirzakhani",
    "Évariste Galois",
    "Alan Turing",
)


def make_sample_class(
    submitted_dir,
    source_dir=COURSE_ROOT / "source" / "backprop",
    release_dir=COURSE_ROOT / "release" / "backprop",
    count=None,
    assignment="backprop",
    distinct=False,
):
    """Write `count` hand-ins (default: one per kind) to submitted_dir/<student>/<assignment>/.

    Kinds cycle through solution, stubs and each mistake; names cycle through
    STUDENTS, numbered after the first round. The notebook is the release's
    when there is one (what students really hand in), else the source's; the
    stubs are always stripped from the source, so a release that leaked the
    solution cannot turn the stub student into a perfect one. With
    `distinct=True` every region a student writes starts with a comment naming
    the hand-in's number, so no two hand-ins share a file's content (a cache
    keyed by content cannot fake a benchmark) and each still grades like its
    kind. Returns {student id: kind}.
    """
    source_dir, release_dir = Path(source_dir), Path(release_dir)
    files = student_files(load_config(COURSE_ROOT), assignment)
    solution = {name: (source_dir / name).read_text(encoding="utf-8") for name in files}
    kinds = sample_kinds(solution, HANDIN_MARK if distinct else None)
    notebook = (
        release_dir / NOTEBOOK if (release_dir / NOTEBOOK).is_file() else source_dir / NOTEBOOK
    )

    roster = {}
    kind_names = list(kinds)
    for number in range(len(kinds) if count is None else count):
        student = STUDENTS[number % len(STUDENTS)]
        if number >= len(STUDENTS):
            student += f" {number // len(STUDENTS) + 1}"
        kind = kind_names[number % len(kind_names)]
        folder = Path(submitted_dir) / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in kinds[kind].items():
            if distinct:
                text = text.replace(HANDIN_MARK, f"hand-in {number + 1}")
            (folder / name).write_text(text, encoding="utf-8")
        shutil.copyfile(notebook, folder / NOTEBOOK)
        roster[student] = kind
    return roster


def sample_kinds(solution, mark=None):
    """{kind: {file name: text}} for the solution, the stubs and each mistake; with `mark`, every
    student region (solution, stub or mistaken body) opens with the comment line `# <mark>`."""
    if mark is None:
        marked_solution, marked_stubs, prefix = solution, stubs(solution), ""
    else:
        marked_solution = {name: marked(text, mark) for name, text in solution.items()}
        marked_stubs = {name: marked(text, mark) for name, text in stubs(solution).items()}
        prefix = f"# {mark}\n"
    kinds = {"solution": marked_solution, "stubs": marked_stubs}
    for mistake in MISTAKES:
        wrong = Mistake(mistake.name, mistake.file, mistake.cls, prefix + mistake.body)
        kinds[mistake.name] = {
            **marked_solution,
            mistake.file: with_mistake(marked_solution[mistake.file], wrong),
        }
    return kinds


def marked(text, mark):
    """`text` with the comment `# <mark>` after each line that opens a student region: a solution
    region's begin marker, or the first line of the configured stub. Comments leave the code as
    the grader compares it unchanged."""
    clearer = solution_clearer(load_config(COURSE_ROOT))
    stub_opening = clearer.code_stub["python"].splitlines()[0].strip()
    lines = []
    for line in text.splitlines(keepends=True):
        lines.append(line)
        if clearer.begin_solution_delimeter in line or line.strip() == stub_opening:
            lines.append(re.match(r"[ \t]*", line).group() + f"# {mark}\n")
    return "".join(lines)


def with_mistake(text, mistake):
    """`text` with the solution region of class `mistake.cls` replaced by the mistaken body."""
    clearer = solution_clearer(load_config(COURSE_ROOT))
    lines = text.splitlines(keepends=True)
    tops = [number for number, line in enumerate(lines, start=1) if re.match(r"(class|def) ", line)]
    start = next(
        (number for number in tops if re.match(rf"class {mistake.cls}\b", lines[number - 1])), None
    )
    stop = next((number for number in tops if start and number > start), len(lines) + 1)
    regions = find_regions(
        text, clearer.begin_solution_delimeter, clearer.end_solution_delimeter, mistake.file
    )
    region = next((r for r in regions if start and start < r.start < stop), None)
    if region is None:
        raise ValueError(
            f"{mistake.file} has no solution region in class {mistake.cls} for the mistake "
            f"{mistake.name!r}"
        )
    indent = re.match(r"[ \t]*", lines[region.start - 1]).group()
    body = [indent + line for line in mistake.body.splitlines(keepends=True)]
    return "".join(lines[: region.start - 1] + body + lines[region.stop :])


def stubs(solution):
    """The engine files students start from: each solution region replaced by nbgrader's configured
    stub."""
    config = load_config(COURSE_ROOT)
    return {name: strip_solutions(text, config, name)[0] for name, text in solution.items()}
