"""nbgrader's commands as the tests run them: in a subprocess, from a folder, failing loudly."""

import os
import subprocess
import sys


def nbgrader(cwd, *args):
    """Run `nbgrader ARGS` in `cwd`; its output, or a failed assertion showing it."""
    # nbgrader runs the `alembic` program to set up its database: it must be on PATH, as in an
    # activated environment.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": path},
    )
    assert result.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr
