"""`course similarity`: planted copies are found among honest solutions, honest ones are not, and
what the release gave (its code and stubs) never counts."""

import re

import pytest
from handins import FILES, RELEASE, stubs, with_regions, write_handin
from honest_solutions import HELPERS, NAMED, STYLES, honest_files

from course.cli import main
from grader.outputs import SIMILARITY_PAGE, id_problem
from grader.outputs.pages import class_report_page
from grader.outputs.similarity_page import MATCH, marked, similarity_page
from grader.similarity import CALIBRATION, THRESHOLD
from grader.similarity.class_check import compare_handins
from grader.similarity.parts import written_parts

GIVEN = {name: (RELEASE / name).read_text(encoding="utf-8") for name in FILES}
RENAMES = {"grad_a": "left", "grad_b": "right", "positive": "on", "one_hot": "hot", "batch": "n"}


def renamed(files):
    """The files with the local names of RENAMES changed, and the comments and layout too."""
    out = {}
    for name, text in files.items():
        for old, new in RENAMES.items():
            text = re.sub(rf"\b{old}\b", new, text)
        out[name] = text.replace(" = ", "=").replace("    return", "    # ours\n    return")
    return out


def reordered(files):
    """The helpers moved above the given code and swapped, the classes of the engine reversed."""
    toolbox = files["toolbox.py"]
    helpers = HELPERS["toolbox.py"]
    body = toolbox.replace(helpers, "")
    first, second = helpers.split("\n\n\n")
    head, *classes = re.split(r"(?m)^(?=class |def )", body)
    return {**files, "toolbox.py": head + second + "\n\n" + first + "\n\n" + "".join(classes[::-1])}


COPIES = {  # copier: (the student copied, their files)
    "verbatim": ("named", honest_files(NAMED)),
    "renamed": ("named", renamed(honest_files(NAMED))),
    "reordered": ("helpers", reordered(honest_files(HELPERS))),
    "one region changed": ("named", with_regions({**NAMED, "Sum": STYLES["beginner"]["Sum"]})),
}


def compared(tmp_path, handins):
    submissions = [(s, write_handin(tmp_path / s / "backprop", f)) for s, f in handins.items()]
    return compare_handins(submissions, GIVEN, max_kb=1024)


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    return compared(
        tmp_path_factory.mktemp("honest"), {s: honest_files(t) for s, t in STYLES.items()}
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    handins = {s: honest_files(t) for s, t in STYLES.items()}
    handins.update({copier: files for copier, (_, files) in COPIES.items()})
    return compared(tmp_path_factory.mktemp("planted"), handins)


def scores(similarity):
    return {frozenset((pair.first, pair.second)): pair.score for pair in similarity.pairs}


def test_independent_solutions_score_below_the_threshold_as_the_page_says(honest):
    assert len(honest.pairs) == len(STYLES) * (len(STYLES) - 1) // 2
    assert honest.flagged == []
    assert round(honest.pairs[0].score, 2) == CALIBRATION.highest < THRESHOLD
    assert CALIBRATION.solutions == len(STYLES)


@pytest.mark.parametrize("copier", COPIES)
def test_a_planted_copy_is_found_with_the_student_it_copied(planted, copier):
    copied = COPIES[copier][0]
    assert scores(planted)[frozenset((copier, copied))] > THRESHOLD
    flagged = {frozenset((pair.first, pair.second)) for pair in planted.flagged}
    others = {frozenset((copier, s)) for s in STYLES if s != copied}
    assert not flagged & others


def test_a_copy_with_one_region_changed_scores_as_the_page_says(planted):
    score = scores(planted)[frozenset(("one region changed", "named"))]
    assert round(score, 2) == CALIBRATION.one_region_changed > THRESHOLD


def test_the_release_alone_gives_nothing_to_compare(tmp_path):
    similarity = compared(tmp_path, {"a": stubs(), "b": stubs(), "c": GIVEN})
    assert similarity.pairs == [] and similarity.problems == {}
    assert all(reading.parts == () for reading in similarity.readings.values())


def test_stubs_left_as_given_are_not_compared_beside_written_bodies():
    done = with_regions({"Mul": NAMED["Mul"], "Div": "raise NotImplementedError()\n"})
    parts = written_parts(GIVEN["toolbox.py"], done["toolbox.py"])
    labels = [part.label for part in parts]
    assert "Mul.backward" in labels and "Div.backward" not in labels


def test_helpers_imports_and_changed_given_code_are_what_students_wrote():
    text = GIVEN["toolbox.py"].replace(
        "import numbers\n", "import numbers\nimport math\n\n\ndef twice(x): return 2 * x\n"
    )
    text = text.replace("        return a + b\n", "        return b + a\n")  # Add.forward
    labels = [part.label for part in written_parts(GIVEN["toolbox.py"], text)]
    assert labels == [f"line {text.splitlines().index('import math') + 1}", "twice", "Add.forward"]


def test_docstrings_comments_and_layout_of_given_code_are_not_written_work():
    text = GIVEN["toolbox.py"].replace('"""a * b, elementwise."""', '"""Products."""  # mine')
    text = text.replace("return a * b", "return (a *  b)")
    assert text != GIVEN["toolbox.py"]
    assert written_parts(GIVEN["toolbox.py"], text) == []


def test_hand_ins_are_read_never_run(tmp_path):
    ran = tmp_path / "ran"
    files = honest_files(NAMED)
    files["toolbox.py"] = files["toolbox.py"].replace(
        "import numbers\n", f"import numbers\nopen({str(ran)!r}, 'w').close()\n"
    )
    similarity = compared(tmp_path / "class", {"a": files, "b": honest_files(HELPERS)})
    assert not ran.exists()
    assert any("open(" in body for _, body in similarity.readings["a"].parts)


def test_unreadable_hand_ins_are_listed_and_the_rest_compared(tmp_path):
    handins = {s: honest_files(STYLES[s]) for s in ("named", "helpers")}
    handins["latin-1"] = {**honest_files(NAMED), "toolbox.py": "x = 'é'\n".encode("latin-1")}
    handins["missing"] = {"nn.py": honest_files(NAMED)["nn.py"]}
    handins["not python"] = {**honest_files(NAMED), "nn.py": "def (:\n"}
    submissions = []
    for student, files in handins.items():
        folder = tmp_path / student / "backprop"
        folder.mkdir(parents=True)
        for name, text in files.items():
            data = text if isinstance(text, bytes) else text.encode("utf-8")
            (folder / name).write_bytes(data)
        submissions.append((student, folder))
    (tmp_path / "folder" / "backprop" / "toolbox.py").mkdir(parents=True)
    (tmp_path / "linked" / "backprop").mkdir(parents=True)
    (tmp_path / "linked" / "backprop" / "toolbox.py").symlink_to(RELEASE / "toolbox.py")
    submissions += [
        (student, tmp_path / student / "backprop") for student in ("linked", "folder", "gone")
    ]
    similarity = compare_handins(submissions, GIVEN, max_kb=1024)
    problems = {s: " ".join(p) for s, p in similarity.problems.items()}
    assert set(problems) == {"latin-1", "missing", "linked", "folder", "gone"}
    assert "toolbox.py line 1 is not UTF-8" in problems["latin-1"]
    assert "toolbox.py is missing" in problems["missing"]
    assert "toolbox.py is a link" in problems["linked"]
    assert "toolbox.py is not a file" in problems["folder"]
    assert "gone/backprop/ is not a folder" in problems["gone"]
    whole = dict(similarity.readings["not python"].parts)
    assert "# nn.py: the whole file (not valid Python)" in whole
    assert frozenset(("latin-1", "named")) in scores(similarity)  # its nn.py is still compared


def test_the_page_shows_flagged_pairs_side_by_side_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    files = honest_files(NAMED)
    files["nn.py"] = files["nn.py"].replace("batch = len", f"batch = {evil!r} and len")
    similarity = compared(tmp_path, {evil: files, "named": honest_files(NAMED), "x": stubs()})
    page = similarity_page("backprop", similarity)
    assert "<script" not in page and "&lt;script&gt;" in page
    assert page.count('class="sides"') == len(similarity.flagged) == 1
    assert "<mark>" in page and "<b># toolbox.py: Mul.backward</b>" in page
    assert "x" in re.search(r"wrote nothing beyond the release.*?</p>", page, re.S).group()
    counts = [int(n) for n in re.findall(r'class="bar"[^>]*>(\d+)</span>', page)]
    assert sum(counts) == len(similarity.pairs)


def test_marked_stretches_cover_the_text_once(planted):
    pair = planted.flagged[0]
    reading = planted.readings[pair.first]
    stretches = marked(reading, pair.slices[0])
    assert "".join(text for text, _ in stretches) == reading.text
    assert sum(len(text) for text, kind in stretches if kind == MATCH) > len(reading.text) / 2


def test_the_class_report_links_to_the_similarity_page():
    linked = class_report_page([], "backprop", similarity=True)
    missing = class_report_page([], "backprop", similarity=False)
    assert '<a href="similarity.html">' in linked and '<a href="similarity.html">' in missing
    assert "course similarity backprop" in missing and "course similarity" not in linked


def test_course_similarity_writes_the_page_and_names_the_pairs(tmp_path, capsys):
    for student, files in {"ada": honest_files(NAMED), "bob": honest_files(NAMED)}.items():
        write_handin(tmp_path / "submitted" / student / "backprop", files)
    out = tmp_path / "autograded"
    argv = ["similarity", "backprop", f"--submitted={tmp_path / 'submitted'}", f"--out={out}"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "1 above 50%" in printed and "100%  ada and bob" in printed
    assert "ada" in (out / "similarity.html").read_text(encoding="utf-8")
    assert main([*argv, "--threshold=100"]) == 0
    assert "0 above 100%" in capsys.readouterr().out


def test_course_similarity_refuses_what_it_cannot_compare(tmp_path, capsys):
    assert main(["similarity", "nothing", f"--submitted={tmp_path}"]) == 1
    assert "no assignment 'nothing'" in capsys.readouterr().err
    assert main(["similarity", "backprop", f"--submitted={tmp_path / 'none'}"]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "similarity.html").exists()


def test_no_student_folder_can_take_the_pages_name():
    assert (
        id_problem(SIMILARITY_PAGE) == "it has the name of a file grading writes beside the results"
    )
