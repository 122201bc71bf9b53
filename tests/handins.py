"""Hand-ins for the grader's tests, written on the fly from the source files.

`solution()` and `stubs()` are what the instructor and the students have;
`with_regions(...)` keeps the solution in some classes and puts the stub or a
mistake in others, reusing course.sample_class's region editing.
"""

import hashlib
import os
from pathlib import Path

from base.paths import COURSE_ROOT
from course.sample_class import Mistake, with_mistake
from course.sample_class import stubs as release_stubs
from grader.assignments import assignment_named
from grader.cases import checks
from grader.grading import Grading
from grader.run import grade_submission
from grader.sandbox import Limits

SOURCE = COURSE_ROOT / "source" / "backprop"
RELEASE = COURSE_ROOT / "release" / "backprop"
BACKPROP = assignment_named("backprop")
FILES = BACKPROP.files  # the files students complete
SEED = 0  # of the random cases, where a test looks at them

# The classes with a solution region, and the file each lives in.
REGION_FILES = {
    name: "toolbox.py"
    for name in ("Mul", "Div", "Pow", "MatMul", "ReLU", "Exp", "Log", "Sum", "Mean", "GetItem")
}
REGION_FILES["SoftmaxCrossEntropy"] = "nn.py"
# The checks that run each class: its own check first (the network check runs matmul, relu and the
# loss).
CHECKS_USING = {
    "Mul": ("multiplication",),
    "Div": ("division",),
    "Pow": ("power",),
    "MatMul": ("matmul", "network"),
    "ReLU": ("relu", "network"),
    "Exp": ("exp",),
    "Log": ("log",),
    "Sum": ("sum",),
    "Mean": ("mean",),
    "GetItem": ("indexing",),
    "SoftmaxCrossEntropy": ("network",),
}
POINTS = {check.grade_id: check.points for check in checks(BACKPROP, SEED)}
MAX_SCORE = sum(POINTS.values())


# Source text of a backward by central differences of the node's own forward, for hand-ins that
# fake gradients without writing a backward; the node must have kept its forward's `options`.
CENTRAL_DIFFERENCES = """\
def numeric(fn, g, eps=1e-6):
    arrays, grads = [t.data for t in fn.inputs], []
    for i, a in enumerate(arrays):
        grad = np.zeros_like(a)
        for pos in np.ndindex(a.shape):
            sides = []
            for step in (eps, -eps):
                moved = list(arrays)
                moved[i] = a.copy()
                moved[i][pos] += step
                options = fn.__dict__.get("options", {})
                sides.append(np.sum(type(fn)().forward(*moved, **options) * g))
            grad[pos] = (sides[0] - sides[1]) / (2 * eps)
        grads.append(grad)
    return tuple(grads)
"""


def graded(limits=Limits(), sandbox="auto", allow_changed_code=False):
    """How the tests grade the backprop assignment."""
    return Grading(BACKPROP, limits, sandbox, allow_changed_code)


def grade_handin(student_id, folder, limits=Limits(), sandbox="auto", allow_changed_code=False):
    """One hand-in of the backprop assignment graded as `course grade` would."""
    return grade_submission(student_id, folder, graded(limits, sandbox, allow_changed_code))


def solution():
    return {name: (SOURCE / name).read_text() for name in FILES}


def stubs():
    """What students start from: the release's engine files, or the source with nbgrader's stubs."""
    if all((RELEASE / name).is_file() for name in FILES):
        return {name: (RELEASE / name).read_text() for name in FILES}
    return release_stubs(solution())


def with_regions(bodies):
    """The solution with the region of each class in `bodies` replaced by the given body."""
    files = solution()
    for cls, body in bodies.items():
        file = REGION_FILES[cls]
        files[file] = with_mistake(files[file], Mistake(f"{cls} replaced", file, cls, body))
    return files


def only_done(done):
    """The solution for the classes in `done`, the release's stub everywhere else."""
    return with_regions(
        {cls: "raise NotImplementedError()\n" for cls in REGION_FILES if cls not in done}
    )


def write_handin(folder, files):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def tree_digest(folder):
    """A digest of every path, link target and file content under `folder` (links not followed)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(root) / name
            digest.update(str(path.relative_to(folder)).encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def processes_mentioning(text):
    """Command lines of running processes that contain `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line:
            found.append(line)
    return found


def prying(secret, targets, proof_dir=None):
    """The solution, but its multiplication's backward first tries to read the file `secret` and
    to write each of `targets`, and leaves a file named after its uid in `proof_dir` (if given and
    reachable). It fails that check if any of it worked, so a full score proves none did."""
    body = f"""\
import os
escaped = []
try:
    with open({str(secret)!r}) as stolen:
        escaped.append(stolen.read(10))
except OSError:
    pass
for target in {[str(t) for t in targets]!r}:
    try:
        with open(target, "a") as forged:
            forged.write("forged")
        escaped.append(target)
    except OSError:
        pass
if {str(proof_dir) if proof_dir else ""!r}:
    try:
        open(os.path.join({str(proof_dir)!r}, "uid-%d" % os.getuid()), "w").close()
    except OSError:
        pass
if escaped:
    raise RuntimeError("escaped: %r" % escaped)
return grad * self.b, grad * self.a
"""
    return with_regions({"Mul": body})
