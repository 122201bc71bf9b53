"""An interpreter every user can run, with this checkout's packages.

Tests of a worker dropped to an unprivileged account need one: this machine's own interpreter may
live in a folder closed to other users (root's home), where that account could not start it.
"""

import subprocess
import sys
import sysconfig
from pathlib import Path

SYSTEM_PYTHON = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
SITE_PACKAGES = sysconfig.get_path("purelib")  # this checkout's environment


def shared_python(folder):
    """The interpreter of a virtual environment made in `folder` from the system's Python of this
    version, using this checkout's packages; None where the system has no such Python."""
    if not SYSTEM_PYTHON.is_file():
        return None
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", folder], check=True)
    python = Path(folder) / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "course.pth").write_text(f"import site; site.addsitedir({SITE_PACKAGES!r})\n")
    return python
