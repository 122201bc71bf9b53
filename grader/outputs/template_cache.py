"""Keep jinja's compiled templates between runs: compiling them costs a class run 50 ms.

The cache lives in the grading user's own cache folder (XDG_CACHE_HOME, else ~/.cache), never in
a folder others can write to, such as /tmp: a worker running student code as another account
shares /tmp, and could plant a link or compiled code there. Its folder is named after the jinja
and Python versions and the Environment's options, which shape the compiled code as much as a
template's text (jinja checks the text itself). A cache that cannot be used is no cache, never a
failed page.
"""

import hashlib
import os
import stat
import sys
from pathlib import Path

import jinja2
from jinja2 import FileSystemBytecodeCache


class CompiledTemplates(FileSystemBytecodeCache):
    """jinja's cache of compiled templates, whose reading or writing never fails a page."""

    def load_bytecode(self, bucket):
        try:
            super().load_bytecode(bucket)
        except Exception:  # a file cut short or of another Python: compiled afresh
            bucket.reset()

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def cache_home():
    """Where this user's caches go (None where that is not known)."""
    home = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(home):
        return Path(home)
    try:
        return Path.home() / ".cache"
    except RuntimeError:  # no home directory
        return None


def private_folder(folder):
    """Whether `folder` and the folder holding it are real folders of this user that nobody else
    may write to."""
    for path in (folder, folder.parent):
        found = os.lstat(path)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
            return False
        if found.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def compiled_templates(options, home=None):
    """The cache for an Environment made with `options` (its keyword arguments), or None."""
    home = home or cache_home()
    if home is None:
        return None
    shaped_by = repr((jinja2.__version__, sys.version, sorted(map(repr, options.items()))))
    digest = hashlib.sha256(shaped_by.encode()).hexdigest()[:16]
    folder = home / "backprop-course" / f"templates-{digest}"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return CompiledTemplates(str(folder)) if private_folder(folder) else None
    except OSError:
        return None
