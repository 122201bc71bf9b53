#!/usr/bin/env bash
# Install the grader; Gradescope runs this once, as root, on its Ubuntu 22.04 image.
#
# By default: Python (the version the bundle was built with) and bubblewrap from Ubuntu's archive,
# the grader's packages at the versions in requirements.txt into a virtual environment, and an
# unprivileged user for student code. The source folder (the solution, the hidden cases) is then
# closed to everyone but root. Nothing is fetched while grading.
#
# Settings (environment), for trying the bundle on a machine that already has what it needs:
#   AUTOGRADER_ROOT       where Gradescope's folders are (default /autograder)
#   GRADER_VENV           the virtual environment to make (default $AUTOGRADER_ROOT/venv)
#   GRADER_SKIP_APT=1     install nothing with apt (Python and bubblewrap are already there)
#   GRADER_PYTHON         the interpreter to make the environment with (default python<version>)
#   GRADER_WHEELHOUSE     install the pinned packages from this folder of wheels, offline
#   GRADER_SITE_PACKAGES  use the packages already installed in this site-packages folder
#   GRADER_WORKER_USER    the user student code runs as when bubblewrap cannot run (default
#                         grader-student, created if missing)
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="${GRADER_VENV:-$ROOT/venv}"
WORKER_USER="${GRADER_WORKER_USER:-grader-student}"
VERSION="$(cat "$SOURCE/python-version")"
PYTHON="${GRADER_PYTHON:-python$VERSION}"

if [ -z "${GRADER_SKIP_APT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "python$VERSION" "python$VERSION-venv" bubblewrap
fi

if [ -n "${GRADER_SITE_PACKAGES:-}" ]; then
    "$PYTHON" -m venv --without-pip "$VENV"
    SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    printf 'import site; site.addsitedir(%s)\n' "'$GRADER_SITE_PACKAGES'" > "$SITE/grader-reuse.pth"
else
    "$PYTHON" -m venv "$VENV"
    if [ -n "${GRADER_WHEELHOUSE:-}" ]; then
        "$VENV/bin/pip" install -q --no-index --find-links "$GRADER_WHEELHOUSE" \
            -r "$SOURCE/requirements.txt"
    else
        "$VENV/bin/pip" install -q --no-cache-dir -r "$SOURCE/requirements.txt"
    fi
fi
# the grader must import from here, with the versions pinned
"$VENV/bin/python" - "$SOURCE/requirements.txt" <<'PY'
import sys
from importlib.metadata import version

wrong = []
for line in open(sys.argv[1]):
    name, wanted = line.strip().split("==")
    try:
        if version(name) != wanted:
            wrong.append(f"{name} {version(name)} (pinned {wanted})")
    except Exception:
        wrong.append(f"{name} missing (pinned {wanted})")
if wrong:
    sys.exit("setup.sh: the environment does not match requirements.txt: " + ", ".join(wrong))
PY

if ! id -u "$WORKER_USER" > /dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$WORKER_USER"
fi

# what run_autograder needs to know of this installation
printf 'VENV=%q\nGRADER_WORKER_USER=%q\n' "$VENV" "$WORKER_USER" > "$SOURCE/installed.env"

# student code may pass through the root and read the environment; never the source or results
chown -R root:root "$SOURCE"
chmod 700 "$SOURCE"
chmod 755 "$ROOT"
mkdir -p "$ROOT/results"
chmod 755 "$ROOT/results"
echo "setup.sh: grader installed in $VENV; student code runs as $WORKER_USER without bubblewrap."
