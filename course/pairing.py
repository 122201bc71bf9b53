"""Keep a notebook's jupytext pair in step: the .py is what instructors edit.

The .ipynb is rewritten from the .py when the .py changed; when the .ipynb
changed on its own (it is newer and its cells differ), neither file is touched
and the instructor is told how to reconcile them. The comparison is made on the
percent-format text jupytext would write for each, so formatting alone never
counts as a change.
"""

import difflib
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs

from base.errors import CourseError

FORMAT = "py:percent"


def sync_pair(script, show=str):
    """Bring `script`'s paired .ipynb in line with it; returns what was done, in words.

    `show` turns a path into the form used in messages.
    """
    script = Path(script)
    paired = script.with_suffix(".ipynb")
    from_script = jupytext.read(script)
    if not paired.is_file():
        jupytext.write(from_script, paired)
        return f"created {show(paired)} from {show(script)}"
    from_paired = jupytext.read(paired)
    ours, theirs = jupytext.writes(from_script, FORMAT), jupytext.writes(from_paired, FORMAT)
    if ours == theirs:
        return f"{show(paired)} matches {show(script)}"
    if paired.stat().st_mtime > script.stat().st_mtime:
        raise CourseError(
            f"{show(paired)} was edited after {show(script)} and their cells differ "
            f"({_first_difference(ours, theirs)}). The .py is the file to edit. To keep the "
            "notebook's changes, "
            f"run `.venv/bin/jupytext --sync {show(paired)}` (the newer file wins); to drop them, "
            f"delete {show(paired)}. "
            "Then release again."
        )
    jupytext.write(
        combine_inputs_with_outputs(from_script, nbformat.read(paired, as_version=4), fmt=FORMAT),
        paired,
    )
    return f"updated {show(paired)} from {show(script)}"


def _first_difference(ours, theirs):
    """Where two percent-format texts first differ, as a line of the .py."""
    for tag, start, _, _, _ in difflib.SequenceMatcher(
        None, ours.splitlines(), theirs.splitlines(), autojunk=False
    ).get_opcodes():
        if tag != "equal":
            return f"first at line {start + 1} of the .py"
    return "in their metadata"
