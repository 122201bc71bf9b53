"""The unprivileged account a worker outside bubblewrap runs as when the grader is root.

Root ignores file permissions and the kernel's process limit, so a worker run as root could read
the solution, write the results and start processes without end. When bubblewrap cannot run and
the grader is root (a container, or a class graded as root), the worker drops to the account named
by GRADER_WORKER_USER (default `nobody`; `root` keeps the old way, with a warning) just before it
starts, and is given a stage of its own:
a read-only copy of the hand-in, a scratch folder it owns, and copies of the two files of ours it
runs. The grader's own folders (the solution, the checks, the outputs) stay closed to it.
"""

import os
import pwd
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER_VARIABLE = "GRADER_WORKER_USER"
DEFAULT_USER = "nobody"


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int

    def become(self):
        """Drop to this account for good; runs in the worker between fork and exec."""
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def can_read(self, path):
        """Whether this account can read `path` or, a folder, pass through it to what it holds
        (whose names a hand-in may know: source/backprop/toolbox.py)."""
        return bool(self.readable([path]))

    def readable(self, paths):
        """Those of `paths` this account can read (a folder: list) or pass through (see
        `can_read`): asked in one fork that becomes it."""
        paths = list(paths)
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:
            try:
                self.become()
                os.write(write_end, bytes(map(_open_to_this_process, paths)))
                os._exit(0)
            except BaseException:
                os._exit(2)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as answers:
            found = answers.read()
        if os.waitpid(pid, 0)[1] != 0 or len(found) != len(paths):
            raise RuntimeError(f"could not ask which paths the account {self.name} can read")
        return [path for path, can in zip(paths, found) if can]


def _open_to_this_process(path):
    """Whether this process can read `path`, or list it or pass through it, a folder."""
    return os.access(path, os.R_OK) or (os.path.isdir(path) and os.access(path, os.X_OK))


def entries_apart_from(root, needed):
    """The entries of the folder `root` that hold none of the paths `needed` (as named or as
    their links resolve), and the git folders that hold its history from outside it: a
    checkout's .git holds every file ever committed, the solution included, and any other folder
    of the course may hold a copy (a classmate's graded work, a backup), so all of them are
    closed to student code, but for the way to what it needs (a .venv with numpy inside it)."""
    needed = [form for path in needed for form in (Path(path).absolute(), _resolved(path))]
    return sorted(
        {
            entry
            for entry in Path(root).iterdir()
            if not any(
                path.is_relative_to(entry) or path.is_relative_to(_resolved(entry))
                for path in needed
            )
        }
        | set(_git_folders_outside(Path(root)))
    )


def _git_folders_outside(root):
    """The git folders outside `root` that hold its history: a repository it lies in, and those a
    .git file (a worktree, a submodule; the course's own or a parent's) points to, with the
    folder they share."""
    found = []
    for folder in (root, *_resolved(root).parents):
        dot_git = folder / ".git"
        found.append(dot_git)
        if dot_git.is_file():
            text = dot_git.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                target = _resolved(folder / text[len("gitdir:") :].strip())
                found.append(target)
                common = target / "commondir"
                if common.is_file():
                    found.append(_resolved(target / common.read_text(errors="replace").strip()))
    inside = _resolved(root)
    return [path for path in found if path.exists() and not _resolved(path).is_relative_to(inside)]


def _resolved(path):
    """`path` with its links resolved, or as it is where they loop."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(path)


def worker_account(needed=(), course=None):
    """The account a process worker drops to, or None: when the grader is not root (the worker
    can then do no more than the grader's own user) or the instructor chose root. The account must
    be able to read each of `needed` (the interpreter, numpy) and nothing of the folder `course`
    but the way to them (`entries_apart_from`)."""
    name = os.environ.get(USER_VARIABLE) or DEFAULT_USER
    if os.geteuid() != 0 or name == "root":
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"the grader runs as root without bubblewrap, so student code must run as an "
            f"unprivileged user, but there is no user {name!r}; create it (useradd --system "
            f"{name}) or name another in {USER_VARIABLE}."
        ) from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise RuntimeError(
            f"{USER_VARIABLE}={name} is root (uid or gid 0); name an unprivileged user for student "
            "code."
        )
    account = Account(name, entry.pw_uid, entry.pw_gid)
    closed = entries_apart_from(course, needed) if course is not None else ()
    refuse_readable(
        account, closed, "the solution or a copy of it (.git holds every file committed)"
    )
    for path in needed:
        if not account.can_read(path):
            raise RuntimeError(
                f"the grader runs as root without bubblewrap, so student code must run as {name}, "
                f"who cannot read {path} (a folder above it is closed to other users). Install "
                f"Python and numpy where every user can read them, use bubblewrap, or accept "
                f"student code running as root with {USER_VARIABLE}=root."
            )
    return account


def refuse_readable(account, paths, holding):
    """Raise RuntimeError, naming them all, if `account` can read any of `paths`, which hold
    `holding` (what a hand-in run as that account could load from there)."""
    readable = account.readable(paths)
    if readable:
        names = ", ".join(map(str, readable))
        quoted = " ".join(shlex.quote(str(path)) for path in readable)
        raise RuntimeError(
            f"the grader runs as root without bubblewrap, so student code would run as "
            f"{account.name}, who can read {names}: a hand-in could load {holding} from "
            f"there. Close {'it' if len(readable) == 1 else 'them'} to other users "
            f"(chmod -R o-rwx {quoted}), use bubblewrap, or name in {USER_VARIABLE} a user who "
            f"cannot read {'it' if len(readable) == 1 else 'them'}."
        )


def stage_base():
    """Where stages are made: the system's temporary folder, which every user may pass through
    (the grader's own temporary folders are private)."""
    base = Path(os.environ.get("TMPDIR") or "/tmp")
    if not os.stat(base).st_mode & 0o001:
        raise RuntimeError(
            f"{base} is closed to other users, so a worker dropped to an unprivileged user could "
            "not reach its files; point TMPDIR at a folder all users may pass through."
        )
    return base


def make_stage(account, files):
    """A fresh folder for one worker run by `account`: `scratch/` (its own) and a read-only copy
    of each of `files`. Returns the stage's path; the caller removes it once the worker has
    ended."""
    stage = Path(tempfile.mkdtemp(prefix="grader-worker-", dir=stage_base()))
    try:
        # others may pass, not list. Workers running at once share the account, so outside
        # bubblewrap one could find another's stage (in /proc): grade a class in bubblewrap.
        stage.chmod(0o711)
        scratch = stage / "scratch"
        scratch.mkdir(mode=0o700)
        os.chown(scratch, account.uid, account.gid)
        for file in files:
            shutil.copyfile(file, stage / Path(file).name)
            (stage / Path(file).name).chmod(0o644)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage
