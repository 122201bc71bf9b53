"""Try a bundle on this machine before uploading it: unpack it into a root folder laid out as
Gradescope's /autograder, run its setup.sh reusing this machine's packages (no apt, no download),
and run its run_autograder on an upload. The tests and the benchmark grade this way."""

import os
import shutil
import subprocess
import sysconfig
import zipfile
from pathlib import Path


def install(bundle, root, python, worker_user):
    """Unpack `bundle` into `root`/source and run its setup.sh as Gradescope would, with the
    environment made from the interpreter `python` using this environment's packages."""
    root = Path(root)
    with zipfile.ZipFile(bundle) as unpacked:
        unpacked.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)  # as Gradescope's unpacking keeps them
    settings = {
        "AUTOGRADER_ROOT": str(root),
        "GRADER_SKIP_APT": "1",
        "GRADER_PYTHON": str(python),
        "GRADER_SITE_PACKAGES": sysconfig.get_path("purelib"),
        "GRADER_WORKER_USER": worker_user,
    }
    subprocess.run(
        [root / "source" / "setup.sh"], env={**os.environ, **settings}, check=True, timeout=300
    )
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does


def start_grading(root, upload, sandbox="auto"):
    """Put the files `upload` (name -> text or bytes; a name may hold folders) in `root`/submission
    and start run_autograder on them; returns the process."""
    submission = Path(root) / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    for name, data in upload.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_SANDBOX": sandbox}
    environment.pop("GRADER_WORKER_USER", None)  # setup.sh's choice holds
    return subprocess.Popen(
        [Path(root) / "run_autograder"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
