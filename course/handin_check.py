"""Check a hand-in before handing it in: what grading would refuse, then every public check.

This is the body of the release's check_handin.py: `course release` writes that file from this
module, base/text.py, base/handin.py (grading's own rules) and the release's given code and public
checks, so it needs only the standard library and agrees with `course grade` on every refusal.
Students run `python check_handin.py` in their folder, or the notebook's last cell.
"""

import ast
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

from base.handin import (
    MAX_SOURCE_KB,
    Unusable,
    check_given_code_unchanged,
    check_readable,
    found_files,
    named_definitions,
    students_functions,
)

# Set by the release in the generated file: the files students complete, their released text,
# nbgrader's code stub, the notebook's import cell and its public checks.
FILES, GIVEN, STUB, SETUP, PUBLIC_CHECKS = (), {}, "", "", ()
CHECKS_SECONDS = 600  # all public checks together; an honest engine needs a few seconds


def refusal(folder):
    """Why grading would refuse the hand-in in `folder` (an `Unusable`), or None."""
    try:
        found_files(folder, FILES, MAX_SOURCE_KB)
        check_given_code_unchanged(check_readable(folder, FILES), GIVEN, STUB)
    except Unusable as refused:
        return refused
    return None


def changed_lines(folder, most=30):
    """The lines of each file that differ from the release outside the students' bodies."""
    shown = []
    for name in FILES:
        given, theirs = GIVEN[name], (Path(folder) / name).read_text(encoding="utf-8")
        diff = difflib.unified_diff(
            _outside_bodies(given, given),
            _outside_bodies(theirs, given),
            f"released {name}",
            f"your {name}",
            lineterm="",
        )
        shown += list(diff)
    return shown[:most] + ([f"... and {len(shown) - most} more lines"] if len(shown) > most else [])


def _outside_bodies(text, given):
    """`text`'s lines without the bodies of the functions students complete: what they must leave
    as released (`given`)."""
    lines = text.splitlines()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return lines
    theirs = students_functions(given, STUB)
    skipped = set()
    for name, node in named_definitions(tree):
        if name in theirs:
            start = node.body[0].lineno - 1  # comments above the first statement count too
            while start > node.lineno and lines[start - 1].strip()[:1] in ("#", ""):
                start -= 1
            end, indent = node.end_lineno, node.col_offset  # and comments below the last one
            while end < len(lines) and (
                not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
            ):
                end += 1
            skipped.update(range(start, end))
    return [line for number, line in enumerate(lines) if number not in skipped]


def run_public_checks(folder):
    """Run the notebook's import cell, then each public check, printing one JSON line each."""
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    setup = {"__name__": "__main__"}
    try:
        exec(compile(SETUP, "the notebook's import cell", "exec"), setup)
    except Exception as error:
        print(json.dumps({"setup": _said(error)}), flush=True)
        return
    for grade_id, points, source in PUBLIC_CHECKS:
        try:
            exec(compile(source, f"the {grade_id} check", "exec"), dict(setup))
            error = None
        except Exception as raised:
            error = _said(raised)
        print(json.dumps({"check": grade_id, "points": points, "error": error}), flush=True)


def _said(error):
    """An exception as a student reads it: its type, its message and where in their files."""
    frames, step = [], error.__traceback__
    while step is not None:
        code = step.tb_frame.f_code
        if Path(code.co_filename).name in FILES:
            name = getattr(code, "co_qualname", code.co_name)  # Mul.backward, from Python 3.11
            frames.append(f"{Path(code.co_filename).name} line {step.tb_lineno}, in {name}")
        step = step.tb_next
    where = f" ({frames[-1]})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def public_results(folder):
    """Each public check's outcome, from a process of its own (an engine that hangs or crashes
    cannot take this check down with it); a message instead when that process failed."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--public-checks", str(folder)],
            capture_output=True,
            text=True,
            timeout=CHECKS_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return [], f"the public checks took more than {CHECKS_SECONDS} s: look for a loop"
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if lines and "setup" in lines[0]:
        return [], f"importing your files failed: {lines[0]['setup']}"
    if len(lines) < len(PUBLIC_CHECKS):
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return lines, f"the checks stopped early: {last[0]}"
    return lines, None


def main(arguments=()):
    """Report on the hand-in in the folder given (default: this file's); 0 if grading would
    accept it, 1 if it would refuse it."""
    arguments = list(arguments)
    if arguments[:1] == ["--public-checks"]:
        run_public_checks(Path(arguments[1]))
        return 0
    folder = Path(arguments[0] if arguments else Path(__file__).parent).resolve()
    print(f"Checking the hand-in in {folder} ({' and '.join(FILES)})")
    refused = refusal(folder)
    if refused is not None:
        print(f"\nNOT READY to hand in: {refused.status}\n  {refused}")
        if refused.status == "changed given code":
            print("  The given code you changed (- released, + yours):")
            print("\n".join(f"    {line}" for line in changed_lines(folder)))
        print("Grading would give this hand-in 0 points: fix the above and run this check again.")
        return 1
    print("  files, encoding, syntax and given code: as grading wants them")
    results, problem = public_results(folder)
    print("\nPublic checks (the notebook's graded cells; grading adds hidden cases):")
    for result in results:
        verdict = "passed" if result["error"] is None else "FAILED"
        said = "" if result["error"] is None else f"  {result['error'].splitlines()[0]}"
        print(f"  {verdict:<6}  {result['check']:<14} {result['points']:g} point(s){said}")
    if problem:
        print(f"  {problem}")
    passed = [r for r in results if r["error"] is None]
    total = sum(points for _, points, _ in PUBLIC_CHECKS)
    print(
        f"{len(passed)} of {len(PUBLIC_CHECKS)} public checks pass "
        f"({sum(r['points'] for r in passed):g} of {total:g} points)."
    )
    print(f"\nReady to hand in: {', '.join(FILES)}")
    if len(passed) < len(PUBLIC_CHECKS):
        print("(grading accepts them as they are; each failing check above costs its points)")
    return 0
