"""course collect: LMS downloads into submitted/<student_id>/backprop/, refusing hostile
archives."""

import io
import stat
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest

from base.paths import COURSE_ROOT
from course.cli import main
from course.collect import UnsafeArchive, archives, collect, command


def zip_bytes(files, symlinks=()):
    """A zip archive in memory: {member name: text or bytes}, plus symbolic-link members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def hand_in(student):
    return {"toolbox.py": f"# {student}'s toolbox\n", "nn.py": f"# {student}'s nn\n"}


def write_zip(path, files, symlinks=()):
    path.write_bytes(zip_bytes(files, symlinks))
    return path


def test_folders_and_archives_per_student_land_in_nbgrader_layout(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Émile Borel")  # as macOS stores names
    download = {f"ada lovelace/{name}": text for name, text in hand_in("ada").items()}
    download[f"{decomposed}.zip"] = zip_bytes(
        {f"backprop/{n}": t for n, t in hand_in("emile").items()}
    )
    download["__MACOSX/._ada lovelace"] = "resource fork"
    summary = collect(write_zip(tmp_path / "lms.zip", download), tmp_path / "submitted", "backprop")

    assert sorted(summary.collected) == ["ada lovelace", "Émile Borel"]
    assert summary.skipped == []
    ada = tmp_path / "submitted" / "ada lovelace" / "backprop"
    # wrapper folder unwrapped, name NFC
    emile = tmp_path / "submitted" / "Émile Borel" / "backprop"
    assert (ada / "toolbox.py").read_text() == "# ada's toolbox\n"
    assert sorted(p.name for p in emile.iterdir()) == ["nn.py", "toolbox.py"]
    assert (emile / "nn.py").read_text() == "# emile's nn\n"
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == [
        "ada lovelace",
        "Émile Borel",
    ]


def test_id_pattern_picks_the_student_out_of_lms_decorations(tmp_path):
    download = tmp_path / "moodle"
    folder = download / "Grace Hopper_4242_assignsubmission_file_"
    folder.mkdir(parents=True)
    write_zip(folder / "backprop.zip", hand_in("grace"))  # a lone zip inside the folder is unpacked
    summary = collect(download, tmp_path / "submitted", "backprop", id_pattern=MOODLE)
    assert summary.collected == ["Grace Hopper_4242"]
    assert (
        tmp_path / "submitted" / "Grace Hopper_4242" / "backprop" / "toolbox.py"
    ).read_text() == "# grace's toolbox\n"


def test_backslashes_in_member_names_are_folder_separators(tmp_path):
    # as Windows tools write them
    student = zip_bytes(
        {"backprop\\toolbox.py": "# ada's toolbox\n", "backprop\\nn.py": "# ada's nn\n"}
    )
    download = {
        "ada.zip": student,
        "grace\\toolbox.py": "# grace's toolbox\n",
        "mallory.zip": zip_bytes({"..\\..\\escaped.py": "x"}),
    }
    summary = collect(write_zip(tmp_path / "lms.zip", download), tmp_path / "submitted", "backprop")

    assert summary.collected == ["ada", "grace"]
    assert sorted(p.name for p in (tmp_path / "submitted" / "ada" / "backprop").iterdir()) == [
        "nn.py",
        "toolbox.py",
    ]
    assert (
        tmp_path / "submitted" / "grace" / "backprop" / "toolbox.py"
    ).read_text() == "# grace's toolbox\n"
    [(entry, reason)] = summary.skipped
    assert (
        entry == "mallory.zip" and "'../../escaped.py', which points outside the archive" in reason
    )
    assert not list(tmp_path.rglob("escaped.py"))


def zip_without_utf8_flag(files):
    """A zip whose member names are the given raw bytes with the UTF-8 flag unset, as many zip tools
    write them."""
    # ASCII, same length
    placeholders = {raw: f"{index:~>{len(raw)}}".encode() for index, raw in enumerate(files)}
    data = zip_bytes({placeholders[raw].decode(): content for raw, content in files.items()})
    for raw, placeholder in placeholders.items():
        assert data.count(placeholder) == 2  # the local header and the central directory
        data = data.replace(placeholder, raw)
    return data


def test_utf8_names_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    student = zip_without_utf8_flag(
        {"backprop/notes-ñ.txt".encode(): "ñ", b"backprop/toolbox.py": "x"}
    )
    download = zip_without_utf8_flag(
        {
            "José/toolbox.py".encode(): "# josé's toolbox\n",
            "Zoë.zip".encode(): student,
            b"caf\x82/toolbox.py": "# a DOS-era name: cp437 bytes, not UTF-8\n",
        }
    )
    # the archives really lack the flag: zipfile alone garbles the names
    for archive in (student, download):
        infos = zipfile.ZipFile(io.BytesIO(archive)).infolist()
        assert all(info.flag_bits & 0x800 == 0 for info in infos)
    assert "Jos├⌐/toolbox.py" in zipfile.ZipFile(io.BytesIO(download)).namelist()

    (tmp_path / "lms.zip").write_bytes(download)
    summary = collect(tmp_path / "lms.zip", tmp_path / "submitted", "backprop")

    assert sorted(summary.collected) == ["José", "Zoë", "café"] and summary.skipped == []
    assert (
        tmp_path / "submitted" / "José" / "backprop" / "toolbox.py"
    ).read_text() == "# josé's toolbox\n"
    assert (tmp_path / "submitted" / "Zoë" / "backprop" / "notes-ñ.txt").read_text() == "ñ"
    assert (tmp_path / "submitted" / "café" / "backprop" / "toolbox.py").exists()


MOODLE = r"(?P<student_id>[^_]+_[0-9]+)_assignsubmission_file_"
CANVAS = r"(?P<student_id>[^_]+)(?:_LATE)?_[0-9]+_[0-9]+_"
# drops Moodle's participant number
NAME_ONLY = r"(?P<student_id>[^_]+)_[0-9]+_assignsubmission_file_"


@pytest.mark.parametrize(
    "pattern, ada, grace, ids",
    [
        (
            MOODLE,
            "Ada Lovelace_123456_assignsubmission_file_",
            "Grace Hopper_4242_assignsubmission_file_",
            ["Ada Lovelace_123456", "Grace Hopper_4242"],
        ),
        (
            CANVAS,
            "lovelaceada_12345_67890_",
            "hoppergrace_LATE_12346_67891_",  # Canvas marks a late hand-in
            ["lovelaceada", "hoppergrace"],
        ),
    ],
)
def test_loose_files_are_grouped_by_student(tmp_path, pattern, ada, grace, ids):
    download = {ada + name: text for name, text in hand_in("ada").items()}
    download[grace + "toolbox.py"] = "# grace's toolbox\n"
    download["readme.txt"] = "not a hand-in"
    summary = collect(
        write_zip(tmp_path / "lms.zip", download),
        tmp_path / "submitted",
        "backprop",
        id_pattern=pattern,
    )

    student = dict(zip((ada, grace), ids))
    assert summary.collected == sorted(ids)
    assert summary.skipped == [
        (
            "readme.txt",
            f"--id-pattern '{pattern}' does not match this name; fix the pattern or rename the "
            "entry",
        )
    ]
    handed_in = tmp_path / "submitted" / student[ada] / "backprop"
    assert sorted(p.name for p in handed_in.iterdir()) == ["nn.py", "toolbox.py"]
    assert (handed_in / "nn.py").read_text() == "# ada's nn\n"
    assert [p.name for p in (tmp_path / "submitted" / student[grace] / "backprop").iterdir()] == [
        "toolbox.py"
    ]


def test_help_shows_the_moodle_and_canvas_patterns_the_tests_use(capsys):
    with pytest.raises(SystemExit):
        main(["collect", "--help"])
    text = capsys.readouterr().out
    assert (
        f"--id-pattern '{MOODLE}'" in text
        and "Ada Lovelace_123456_assignsubmission_file_toolbox.py" in text
    )
    assert (
        "-> submitted/Ada Lovelace_123456/backprop/toolbox.py" in text
        and "names are not unique" in text
    )
    assert f"--id-pattern '{CANVAS}'" in text and "lovelaceada_12345_67890_toolbox.py" in text
    assert "lovelaceada_LATE_12345_67890_toolbox.py" in text and "(toolbox-1.py)" in text


def test_the_instructors_guide_shows_the_patterns_the_help_shows():
    readme = (COURSE_ROOT / "docs" / "instructors.md").read_text(encoding="utf-8")
    collecting = readme.split("## Collecting", 1)[1].split("\n## ", 1)[0]
    for pattern in (MOODLE, CANVAS):
        assert f"--id-pattern '{pattern}'" in collecting
    assert (
        "-> submitted/Ada Lovelace_123456/backprop/toolbox.py" in collecting
        and "names are not unique" in collecting
    )


def test_moodle_online_text_answers_are_ignored_not_skipped(tmp_path, capsys):
    download = {
        f"Ada Lovelace_123456_assignsubmission_file_{name}": text
        for name, text in hand_in("ada").items()
    }
    download["Ada Lovelace_123456_assignsubmission_onlinetext_onlinetext.html"] = (
        "<p>see my files</p>"
    )
    args = [
        "collect",
        "backprop",
        "--submitted",
        str(tmp_path / "submitted"),
        "--id-pattern",
        MOODLE,
    ]
    assert main(args + ["--zip", str(write_zip(tmp_path / "moodle.zip", download))]) == 0
    out = capsys.readouterr().out
    assert (
        "ignored    Ada Lovelace_123456_assignsubmission_onlinetext_onlinetext.html: Moodle's "
        "online-text answer" in out
    )
    assert sorted(
        p.name for p in (tmp_path / "submitted" / "Ada Lovelace_123456" / "backprop").iterdir()
    ) == ["nn.py", "toolbox.py"]


def test_students_of_one_name_stay_apart_by_their_moodle_number(tmp_path):
    download = tmp_path / "moodle"
    download.mkdir()
    for number in ("200001", "200002"):
        (download / f"John Smith_{number}_assignsubmission_file_toolbox.py").write_text(
            f"# {number}'s toolbox\n"
        )

    summary = collect(download, tmp_path / "submitted", "backprop", id_pattern=MOODLE)
    assert summary.collected == ["John Smith_200001", "John Smith_200002"] and summary.skipped == []
    assert (
        tmp_path / "submitted" / "John Smith_200002" / "backprop" / "toolbox.py"
    ).read_text() == "# 200002's toolbox\n"

    summary = collect(download, tmp_path / "dropped", "backprop", id_pattern=NAME_ONLY)
    [(entries, reason)] = summary.skipped
    assert (
        entries == "John Smith_200001_assignsubmission_file_toolbox.py, John "
        "Smith_200002_assignsubmission_file_toolbox.py"
    )
    assert reason == (
        "two hand-ins for student id 'John Smith': John "
        "Smith_200001_assignsubmission_file_toolbox.py and "
        "John Smith_200002_assignsubmission_file_toolbox.py both hold 'toolbox.py', and their "
        "names differ after the id "
        "('_200001_assignsubmission_file_', '_200002_assignsubmission_file_'), so they may be two "
        "people: put what "
        f"tells them apart in the id (Moodle: --id-pattern '{MOODLE}') and collect again, or if "
        "they are one, keep one"
    )
    assert list((tmp_path / "dropped").iterdir()) == []


def test_a_students_entries_are_one_hand_in_unless_two_hold_the_same_file(tmp_path):
    download = tmp_path / "moodle"  # a folder download, as unpacked by the instructor
    download.mkdir()
    files = {
        "Grace Hopper_4242_assignsubmission_file_backprop.zip": zip_bytes(
            {f"backprop/{n}": t for n, t in hand_in("grace").items()}
        ),
        "Grace Hopper_4242_assignsubmission_file_notes.txt": "grace's notes",
        "Alan Turing_77_assignsubmission_file_toolbox.py": "# alan's loose toolbox\n",
        "Alan Turing_77_assignsubmission_file_backprop.zip": zip_bytes(hand_in("alan")),
        "Edsger_5_assignsubmission_file_nn.py": "# first\n",
        "Edsger_6_assignsubmission_file_nn.py": "# second\n",
        "Kurt_8_assignsubmission_file_": "x",
    }
    for name, content in files.items():
        (download / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (download / "Mallory_9_assignsubmission_file_toolbox.py").symlink_to(tmp_path / "solution.py")
    (tmp_path / "solution.py").write_text("SOLUTION = 42\n")

    summary = collect(download, tmp_path / "submitted", "backprop", id_pattern=MOODLE)

    # two Edsgers: two participant numbers
    assert summary.collected == ["Edsger_5", "Edsger_6", "Grace Hopper_4242"]
    grace = tmp_path / "submitted" / "Grace Hopper_4242" / "backprop"
    # the zip unwrapped, the note beside it
    assert sorted(p.name for p in grace.iterdir()) == ["nn.py", "notes.txt", "toolbox.py"]
    skipped = dict(summary.skipped)
    assert skipped[
        "Alan Turing_77_assignsubmission_file_backprop.zip, Alan "
        "Turing_77_assignsubmission_file_toolbox.py"
    ] == (
        "a second hand-in for student 'Alan Turing_77': Alan "
        "Turing_77_assignsubmission_file_backprop.zip and "
        "Alan Turing_77_assignsubmission_file_toolbox.py both hold 'toolbox.py'; keep one and "
        "collect again"
    )
    assert "leaves no file name" in skipped["Kurt_8_assignsubmission_file_"]
    assert (
        "Mallory_9_assignsubmission_file_toolbox.py is a symbolic link"
        in skipped["Mallory_9_assignsubmission_file_toolbox.py"]
    )
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == [
        "Edsger_5",
        "Edsger_6",
        "Grace Hopper_4242",
    ]


@pytest.mark.parametrize(
    "member, symlink, complaint",
    [
        ("../../escaped.py", False, "'..'"),
        ("backprop/../../../escaped.py", False, "'..'"),
        ("/tmp/escaped.py", False, "absolute path"),
        ("C:/escaped.py", False, "absolute path"),
        ("toolbox_link.py", True, "symbolic link"),
    ],
)
def test_hostile_student_archive_is_refused_and_others_still_collected(
    tmp_path, member, symlink, complaint
):
    files = dict(hand_in("mallory"))
    symlinks = [(member, "../../source/backprop/toolbox.py")] if symlink else []
    if not symlink:
        files[member] = "import os  # planted\n"
    download = {"mallory.zip": zip_bytes(files, symlinks)}
    download.update({f"ada/{name}": text for name, text in hand_in("ada").items()})
    submitted = tmp_path / "course" / "submitted"

    summary = collect(write_zip(tmp_path / "lms.zip", download), submitted, "backprop")

    assert summary.collected == ["ada"]
    [(entry, reason)] = summary.skipped
    assert entry == "mallory.zip"
    assert (
        "mallory.zip" in reason
        and repr(member) in reason
        and complaint in reason
        and "collect again" in reason
    )
    assert not (submitted / "mallory").exists()  # nothing half-written
    assert sorted(p.name for p in submitted.iterdir()) == ["ada"]  # staging folder cleaned up
    assert not list(tmp_path.rglob("escaped.py"))


@pytest.mark.parametrize(
    "bad",
    [
        "../outside/toolbox.py",
        "Eve_666_assignsubmission_file_..\\..\\..\\evil.py",
        "/etc/evil.py",
        "C:\\\\evil.py",
    ],
)
def test_a_file_with_an_unsafe_name_in_a_download_costs_that_file_only(tmp_path, capsys, bad):
    download = {
        f"Ada Lovelace_123456_assignsubmission_file_{name}": text
        for name, text in hand_in("ada").items()
    }
    download[bad] = "import os  # escapes\n"
    download["Eve_666_assignsubmission_file_toolbox.py"] = "# eve\n"
    args = [
        "collect",
        "backprop",
        "--submitted",
        str(tmp_path / "submitted"),
        "--id-pattern",
        MOODLE,
    ]
    # something to look at
    assert main(args + ["--zip", str(write_zip(tmp_path / "moodle.zip", download))]) == 1
    out = capsys.readouterr().out
    assert "collected  Ada Lovelace_123456" in out and "collected  Eve_666" in out
    assert "skipped" in out and "the rest of the download collected" in out
    assert sorted(
        p.name for p in (tmp_path / "submitted" / "Ada Lovelace_123456" / "backprop").iterdir()
    ) == ["nn.py", "toolbox.py"]
    assert not list(tmp_path.rglob("evil.py")) and not (tmp_path / "outside").exists()


def test_a_hand_in_of_too_many_files_is_refused_and_others_still_collected(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 50)  # the real cap is 2000: the same rule, faster
    many = {f"junk/{n}.txt": "" for n in range(60)}
    download = tmp_path / "download"
    download.mkdir()
    write_zip(download / "mallory.zip", {**hand_in("mallory"), **many})
    (download / "trudy").mkdir()
    for name, text in {**hand_in("trudy"), **{f"{n}.txt": "" for n in range(60)}}.items():
        (download / "trudy" / name).write_text(text)
    write_zip(download / "ada.zip", hand_in("ada"))
    assert (
        main(
            [
                "collect",
                "backprop",
                "--zip",
                str(download),
                "--submitted",
                str(tmp_path / "submitted"),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "collected  ada" in out
    assert out.count("more than the 50 allowed for one hand-in") == 2
    assert sorted(
        p.name for p in (tmp_path / "submitted").iterdir() if not p.name.startswith(".")
    ) == ["ada"]


def test_symlink_in_a_downloaded_folder_is_refused(tmp_path):
    (tmp_path / "source.py").write_text("SOLUTION = 42\n")
    student = tmp_path / "download" / "mallory"
    student.mkdir(parents=True)
    (student / "toolbox.py").symlink_to(tmp_path / "source.py")
    summary = collect(tmp_path / "download", tmp_path / "submitted", "backprop")
    assert summary.collected == []
    assert summary.skipped == [("mallory", summary.skipped[0][1])]
    assert "mallory/toolbox.py is a symbolic link" in summary.skipped[0][1]
    assert not (tmp_path / "submitted" / "mallory").exists()


def test_existing_submission_is_kept_unless_forced(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    first = write_zip(tmp_path / "first.zip", {f"ada/{n}": t for n, t in hand_in("first").items()})
    second = write_zip(
        tmp_path / "second.zip", {f"ada/{n}": t for n, t in hand_in("second").items()}
    )
    args = ["collect", "backprop", "--submitted", str(submitted), "--zip"]
    assert main(args + [str(first)]) == 0
    toolbox = submitted / "ada" / "backprop" / "toolbox.py"

    assert main(args + [str(second)]) == 1
    out = capsys.readouterr().out
    assert (
        "skipped    ada: student 'ada' already has a different submission" in out
        and "--force" in out
    )
    assert toolbox.read_text() == "# first's toolbox\n"

    assert main(args + [str(second), "--force"]) == 0
    out = capsys.readouterr().out
    assert (
        f"replaced   ada: the earlier hand-in is kept in {submitted / '.replaced' / 'ada'}/" in out
    )
    assert out.startswith("Collected 1 submission(s)")
    assert toolbox.read_text() == "# second's toolbox\n"
    assert sorted(p.name for p in submitted.iterdir()) == [".replaced", "ada"]
    assert sorted(p.name for p in (submitted / "ada").iterdir()) == ["backprop"]
    (kept,) = (submitted / ".replaced" / "ada").iterdir()  # nothing --force replaced is lost
    assert (
        kept.name.startswith("backprop ")
        and (kept / "toolbox.py").read_text() == "# first's toolbox\n"
    )

    assert main(args + [str(first), "--force"]) == 0  # twice in one second: both kept
    kept = sorted((submitted / ".replaced" / "ada").iterdir())
    assert [(folder / "toolbox.py").read_text() for folder in kept] == [
        "# first's toolbox\n",
        "# second's toolbox\n",
    ]


def test_collecting_the_same_download_again_reports_unchanged(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    download = {f"{name}/{n}": t for name in ("ada", "grace") for n, t in hand_in(name).items()}
    args = ["collect", "backprop", "--submitted", str(submitted), "--zip"]
    assert main(args + [str(write_zip(tmp_path / "first.zip", download))]) == 0
    capsys.readouterr()
    toolbox = submitted / "ada" / "backprop" / "toolbox.py"
    first_inode = toolbox.stat().st_ino

    download["grace/extra.py"] = "# a file more\n"  # ada's hand-in is the same, grace's is not
    assert main(args + [str(write_zip(tmp_path / "again.zip", download))]) == 1
    out = capsys.readouterr().out
    assert "unchanged  ada: the same files are already there" in out
    assert "skipped    grace: student 'grace' already has a different submission" in out
    assert toolbox.stat().st_ino == first_inode  # left alone, not replaced
    assert not (submitted / "grace" / "backprop" / "extra.py").exists()

    del download["grace/extra.py"]
    assert main(args + [str(write_zip(tmp_path / "third.zip", download)), "--force"]) == 0
    assert capsys.readouterr().out.count("unchanged") == 2


def test_summary_names_what_was_skipped_and_why(tmp_path, capsys):
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "ada/toolbox.py": "x",
            "ada.zip": zip_bytes({"toolbox.py": "y"}),
            "grace/toolbox.py": "x",
            "grace.zip": zip_bytes({"backprop/nn.py": "y"}),  # no file in both: one hand-in
            "broken.zip": b"this is not a zip archive",
        },
    )
    assert (
        main(["collect", "backprop", "--zip", str(download), "--submitted", str(tmp_path / "s")])
        == 1
    )
    out = capsys.readouterr().out
    assert "Collected 1 submission(s)" in out and "collected  grace" in out
    assert sorted(p.name for p in (tmp_path / "s" / "grace" / "backprop").iterdir()) == [
        "nn.py",
        "toolbox.py",
    ]
    assert (
        "skipped    ada, ada.zip: a second hand-in for student 'ada': ada and ada.zip both hold "
        "'toolbox.py'; "
        "keep one and collect again"
    ) in out
    assert not (tmp_path / "s" / "ada").exists()  # which one counts is not ours to guess
    assert "skipped    broken.zip: File is not a zip file" in out


def test_loose_files_without_id_pattern_collect_nothing(tmp_path, capsys):
    moodle = {
        "Frank Zipper_123461_assignsubmission_file_backprop.zip": zip_bytes(hand_in("frank")),
        "Ada Lovelace_123456_assignsubmission_file_toolbox.py": "# ada's toolbox\n",
        "__MACOSX/._x": "resource fork",
        "Thumbs.db": "junk",
    }
    download = write_zip(tmp_path / "moodle.zip", moodle)
    submitted = tmp_path / "submitted"
    assert main(["collect", "backprop", "--zip", str(download), "--submitted", str(submitted)]) == 2
    out, error = capsys.readouterr()
    assert error == (
        "course collect: 'Ada Lovelace_123456_assignsubmission_file_toolbox.py' is a file on its "
        "own at the top of the "
        "download, not a student's folder or .zip, so nothing was collected. If the LMS gave each "
        "student's files one "
        "by one, pass --id-pattern to pick the student id out of each name (Moodle: --id-pattern "
        f"'{MOODLE}'); "
        "otherwise delete the file and collect again\n"
    )
    # not even Frank's .zip under an id made of its whole name
    assert out == "" and list(submitted.iterdir()) == []

    assert (
        main(
            [
                "collect",
                "backprop",
                "--zip",
                str(download),
                "--submitted",
                str(submitted),
                "--id-pattern",
                MOODLE,
            ]
        )
        == 0
    )
    assert sorted(p.name for p in submitted.iterdir()) == [
        "Ada Lovelace_123456",
        "Frank Zipper_123461",
    ]


def test_id_pattern_without_student_id_group_is_an_error(tmp_path):
    (tmp_path / "download").mkdir()
    with pytest.raises(ValueError, match=r"needs a named group \(\?P<student_id>"):
        collect(tmp_path / "download", tmp_path / "submitted", "backprop", id_pattern="(.*)_x")


def test_an_invalid_id_pattern_is_a_clear_error(tmp_path, capsys):
    download = tmp_path / "download"
    (download / "ada").mkdir(parents=True)
    assert (
        main(
            [
                "collect",
                "backprop",
                "--zip",
                str(download),
                "--submitted",
                str(tmp_path / "s"),
                "--id-pattern",
                "(",
            ]
        )
        == 2
    )
    assert "not a valid regular expression" in capsys.readouterr().err


def nested_zip(files, names):
    """`files` zipped, that zip zipped as names[-1], ... out to names[0]: a zip of a zip of ..."""
    content = zip_bytes(files)
    for name in reversed(names[1:]):
        content = zip_bytes({name: content})
    return content


def test_zips_nested_deeper_than_allowed_are_refused_and_others_still_collected(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    deep = ["mallory.zip", "a.zip", "b.zip", "c.zip"]  # one level more than MAX_ZIP_DEPTH = 3
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "mallory.zip": nested_zip(hand_in("mallory"), deep),
            "ada.zip": nested_zip(
                hand_in("ada"), ["ada.zip", "backprop.zip", "again.zip"]
            ),  # exactly the limit
            "grace/toolbox.py": "# grace's toolbox\n",
        },
    )
    assert main(["collect", "backprop", "--zip", str(download), "--submitted", str(submitted)]) == 1
    out = capsys.readouterr().out
    assert (
        "skipped    mallory.zip: student 'mallory': mallory.zip > a.zip > b.zip > c.zip "
        "nests .zip archives more than 3 deep; unzip them"
    ) in out
    assert (submitted / "ada" / "backprop" / "toolbox.py").read_text() == "# ada's toolbox\n"
    assert sorted(p.name for p in submitted.iterdir()) == ["ada", "grace"]  # nothing half-unpacked


def test_nested_zips_share_one_byte_budget_per_student(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_UNPACKED_BYTES", 3000)
    submitted = tmp_path / "submitted"
    (submitted / "mallory" / "backprop").mkdir(parents=True)
    (submitted / "mallory" / "backprop" / "toolbox.py").write_text("# mallory's first hand-in\n")
    inner = zip_bytes({"toolbox.py": "0" * 2000})  # each archive alone is under 3000 bytes ...
    outer = zip_bytes({"inner.zip": inner})
    assert len(inner) < 3000 and len(inner) + 2000 > 3000  # ... together they are over
    download = write_zip(
        tmp_path / "lms.zip", {"mallory.zip": outer, "ada/toolbox.py": "# ada's toolbox\n"}
    )

    summary = collect(download, submitted, "backprop", force=True)

    assert summary.collected == ["ada"]
    [(entry, reason)] = summary.skipped
    assert entry == "mallory.zip"
    assert reason.startswith("student 'mallory': mallory.zip > inner.zip would unpack to")
    assert "MiB allowed" in reason
    assert (
        submitted / "mallory" / "backprop" / "toolbox.py"
    ).read_text() == "# mallory's first hand-in\n"
    assert sorted(p.name for p in submitted.iterdir()) == ["ada", "mallory"]


def test_a_refused_hand_in_is_deleted_before_the_next_one_is_unpacked(tmp_path, monkeypatch):
    leftovers, collect_one = [], command.collect_one

    def collect_one_noting_leftovers(entries, student_id, destination, staging, force):
        leftovers.extend(path.name for path in staging.glob("student-*"))
        return collect_one(entries, student_id, destination, staging, force)

    monkeypatch.setattr(command, "collect_one", collect_one_noting_leftovers)
    deep = ["x.zip", "a.zip", "b.zip", "c.zip"]
    download = write_zip(
        tmp_path / "lms.zip", {f"{name}.zip": nested_zip(hand_in(name), deep) for name in "pqr"}
    )
    summary = collect(download, tmp_path / "submitted", "backprop")
    assert [entry for entry, _ in summary.skipped] == ["p.zip", "q.zip", "r.zip"]
    assert leftovers == []  # the disk holds one student's unpacking at a time


def test_each_archive_of_a_student_may_nest_as_deep_as_allowed(tmp_path):
    download = write_zip(
        tmp_path / "lms.zip",
        {  # two archives of one student, each exactly at MAX_ZIP_DEPTH = 3
            "ada_1_toolbox.zip": nested_zip({"toolbox.py": "t"}, ["toolbox.zip", "b.zip", "c.zip"]),
            "ada_2_nn.zip": nested_zip({"nn.py": "n"}, ["nn.zip", "b.zip", "c.zip"]),
        },
    )
    summary = collect(
        download, tmp_path / "submitted", "backprop", id_pattern=r"(?P<student_id>[^_]+)_[0-9]_"
    )
    assert summary.collected == ["ada"] and summary.skipped == []
    assert sorted(p.name for p in (tmp_path / "submitted" / "ada" / "backprop").iterdir()) == [
        "nn.py",
        "toolbox.py",
    ]


def test_a_class_download_may_hold_more_than_one_hand_in_may(tmp_path, monkeypatch):
    monkeypatch.setattr(archives, "MAX_UNPACKED_BYTES", 3000)
    # 4000 bytes in all, 2000 each
    files = {f"{name}/toolbox.py": "0" * 2000 for name in ("ada", "grace")}
    assert collect(
        write_zip(tmp_path / "lms.zip", files), tmp_path / "submitted", "backprop"
    ).collected == ["ada", "grace"]
    monkeypatch.setattr(archives, "MAX_DOWNLOAD_BYTES", 3000)
    with pytest.raises(
        UnsafeArchive, match=r"lms.zip would unpack to 0 MiB, more than the 0 MiB allowed"
    ):
        collect(tmp_path / "lms.zip", tmp_path / "again", "backprop")


def test_an_unknown_assignment_is_refused_before_anything_is_written(tmp_path, capsys):
    download = write_zip(tmp_path / "lms.zip", {"ada/toolbox.py": "x"})
    submitted = tmp_path / "submitted"
    assert main(["collect", "backprp", "--zip", str(download), "--submitted", str(submitted)]) == 2
    error = capsys.readouterr().err
    assert (
        "there is no assignment 'backprp'" in error
        and "(there is: backprop)" in error
        and "--root" in error
    )
    assert not submitted.exists()

    # another course: its assignments are the folders in its source/ or release/
    course_root = tmp_path / "course"
    (course_root / "source" / "hw1").mkdir(parents=True)
    (course_root / "release" / "hw2").mkdir(parents=True)
    args = ["--zip", str(download), "--submitted", str(submitted), "--root", str(course_root)]
    assert main(["collect", "backprop"] + args) == 2
    assert "(there is: hw1, hw2)" in capsys.readouterr().err
    # the files students complete are in the course's nbgrader_config.py
    assert main(["collect", "hw2"] + args) == 2
    assert (
        f"{course_root.resolve() / 'nbgrader_config.py'} does not exist" in capsys.readouterr().err
    )
    assert not submitted.exists()

    (course_root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.Autograde.exclude_overwriting = {"hw2": ["toolbox.py"]}\n'
    )
    assert main(["collect", "hw2"] + args) == 0
    assert (submitted / "ada" / "hw2" / "toolbox.py").read_text() == "x"
    assert "collected  ada\n" in capsys.readouterr().out  # toolbox.py is all hw2 asks for


def test_hand_ins_lacking_files_students_complete_are_collected_with_a_warning(tmp_path, capsys):
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "ada/toolbox.py": "x",
            "ada/nn.py": "x",
            "ada/backprop.ipynb": "{}",
            "grace/backprop.ipynb": "{}",  # the notebook alone
            "alan/backprop/nn.py": "x",
            "alan/backprop/toolbox/toolbox.py": "x",  # toolbox.py one folder too deep
        },
    )
    args = [
        "collect",
        "backprop",
        "--zip",
        str(download),
        "--submitted",
        str(tmp_path / "submitted"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "  collected  ada\n" in out
    assert (
        "  collected  grace (no toolbox.py, nn.py: grading will give 0 until they hand them in; "
        "it holds backprop.ipynb)\n" in out
    )
    assert (
        "  collected  alan (no toolbox.py: grading will give 0 until they hand them in; it holds "
        "nn.py, toolbox/toolbox.py)\n" in out
    )
    assert (tmp_path / "submitted" / "grace" / "backprop" / "backprop.ipynb").exists()
    assert main(args) == 0
    assert (
        "  unchanged  grace: the same files are already there (no toolbox.py, nn.py"
        in capsys.readouterr().out
    )


def test_a_note_points_out_the_demo_class_beside_collected_hand_ins(tmp_path, capsys):
    submitted = tmp_path / "submitted"
    for student in ("demo-ada", "demo-bob"):
        (submitted / student / "backprop").mkdir(parents=True)
    # demo-gone was deleted since
    (submitted / ".demo-class").write_text(
        "Made by `course demo`, which replaces these students on its next run:\n"
        "demo-ada\ndemo-bob\ndemo-gone\n"
    )
    download = write_zip(tmp_path / "lms.zip", {f"ada/{n}": t for n, t in hand_in("ada").items()})
    assert main(["collect", "backprop", "--zip", str(download), "--submitted", str(submitted)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"note: {submitted}/ also holds the 2 synthetic students of `course demo` (listed in "
        f"{submitted / '.demo-class'}); "
        "delete them (or the whole folder) before grading real hand-ins"
    )

    (submitted / ".demo-class").unlink()
    assert main(["collect", "backprop", "--zip", str(download), "--submitted", str(submitted)]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize("file_name", ["..", ".", ".DS_Store", "back\\slash.py"])
def test_a_loose_file_named_like_no_file_is_refused_and_later_students_collected(
    tmp_path, file_name
):
    download = tmp_path / "moodle"
    download.mkdir()
    (download / f"Ada_1_assignsubmission_file_{file_name}").write_text("x")
    (download / "Zoe_2_assignsubmission_file_toolbox.py").write_text("# zoe's toolbox\n")
    summary = collect(download, tmp_path / "submitted", "backprop", id_pattern=MOODLE)

    assert summary.collected == ["Zoe_2"]
    [(entry, reason)] = summary.skipped
    assert entry == f"Ada_1_assignsubmission_file_{file_name}"
    assert reason.startswith(
        f"{file_name!r}, the name left after --id-pattern's match, cannot be a hand-in's file; "
        "delete the entry"
    )
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == ["Zoe_2"]


def test_an_os_error_skips_that_student_only(tmp_path, monkeypatch):
    copy_folder = command.copy_folder

    def disk_full_for_mallory(source, destination):
        if source.name == "mallory":
            raise OSError(28, "No space left on device", str(destination))
        copy_folder(source, destination)

    monkeypatch.setattr(command, "copy_folder", disk_full_for_mallory)
    download = tmp_path / "download"
    for student in ("ada", "mallory", "zoe"):
        (download / student).mkdir(parents=True)
        (download / student / "toolbox.py").write_text(f"# {student}'s toolbox\n")
    summary = collect(download, tmp_path / "submitted", "backprop")
    assert summary.collected == ["ada", "zoe"]
    [(entry, reason)] = summary.skipped
    assert entry == "mallory" and "No space left on device" in reason


def test_an_os_error_outside_any_hand_in_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "a file").write_text("not a folder")
    download = write_zip(tmp_path / "lms.zip", {"ada/toolbox.py": "x"})
    submitted = tmp_path / "a file" / "submitted"
    assert main(["collect", "backprop", "--zip", str(download), "--submitted", str(submitted)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("course collect: [Errno 20] Not a directory")
    assert f"check that {submitted} can be written and has room, then collect again" in error


def zip_with_repeats(members):
    """A zip holding each (name, content) in order, a name twice if it is given twice (zipfile only
    warns)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "members, complaint",
    [
        (
            [("backprop/toolbox.py", "mine"), ("backprop\\toolbox.py", "planted")],
            "holds 'backprop/toolbox.py' twice",
        ),
        ([("toolbox.py", "mine"), ("toolbox.py", "planted")], "holds 'toolbox.py' twice"),
        ([("toolbox.py", "mine"), ("./toolbox.py", "planted")], "holds 'toolbox.py' twice"),
        (
            [("backprop", "a file"), ("backprop/toolbox.py", "mine")],
            "holds 'backprop' both as a file and as a folder",
        ),
        (
            [("backprop/toolbox.py", "mine"), ("backprop", "a file")],
            "holds 'backprop' both as a file and as a folder",
        ),
        (
            [("backprop/", ""), ("backprop", "a file")],
            "holds 'backprop' both as a file and as a folder",
        ),
    ],
)
def test_archive_members_landing_on_one_path_are_refused(tmp_path, members, complaint):
    download = write_zip(
        tmp_path / "lms.zip",
        {"mallory.zip": zip_with_repeats(members), "ada/toolbox.py": "# ada's\n"},
    )
    summary = collect(download, tmp_path / "submitted", "backprop")
    assert summary.collected == ["ada"]
    [(entry, reason)] = summary.skipped
    assert (
        entry == "mallory.zip" and reason == f"mallory.zip {complaint}; {archives.REMAKE_ARCHIVE}"
    )
    assert not (tmp_path / "submitted" / "mallory").exists()


def test_a_download_holding_one_path_twice_leaves_out_every_copy(tmp_path):
    download = tmp_path / "lms.zip"
    download.write_bytes(
        zip_with_repeats(
            [
                ("ada/toolbox.py", "mine"),
                ("ada\\toolbox.py", "planted"),
                ("ada/nn.py", "# nn"),
                ("bob/toolbox.py", "# bob"),
                ("bob/nn.py", "# bob"),
            ]
        )
    )
    summary = collect(download, tmp_path / "submitted", "backprop")
    assert [name for name, _ in summary.skipped] == ["ada/toolbox.py", "ada/toolbox.py"]
    assert all("more than once" in why for _, why in summary.skipped)
    assert summary.collected == ["ada", "bob"] and summary.missing["ada"][0] == ["toolbox.py"]


def test_names_course_grade_writes_are_refused_as_student_ids(tmp_path):
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "grades.csv/toolbox.py": "x",
            "report.html.zip": zip_bytes({"toolbox.py": "x"}),
            ".grades.csv.sha256/toolbox.py": "x",
            "ada/toolbox.py": "# ada's\n",
        },
    )
    summary = collect(download, tmp_path / "submitted", "backprop")
    assert summary.collected == ["ada"]
    skipped = dict(summary.skipped)
    for entry, name in [("grades.csv", "grades.csv"), ("report.html.zip", "report.html")]:
        assert (
            skipped[entry]
            == f"{name!r} cannot be a student id: `course grade` writes a file by that name; "
            "rename the entry"
        )
    assert (
        skipped[".grades.csv.sha256"]
        == "'.grades.csv.sha256' cannot be a student id; rename the entry"
    )
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == ["ada"]


def test_students_are_collected_in_class_list_order(tmp_path, capsys):
    names = ["zoe", "Émile", "emma", "Bob"]  # by code point: Bob, emma, zoe, Émile
    download = write_zip(
        tmp_path / "lms.zip", {f"{name}/{n}": t for name in names for n, t in hand_in(name).items()}
    )
    assert (
        main(
            [
                "collect",
                "backprop",
                "--zip",
                str(download),
                "--submitted",
                str(tmp_path / "submitted"),
            ]
        )
        == 0
    )
    listed = [
        line.split("collected  ")[1]
        for line in capsys.readouterr().out.splitlines()
        if "collected  " in line
    ]
    assert listed == ["Bob", "Émile", "emma", "zoe"]


def test_a_failed_forced_replacement_keeps_the_old_submission(tmp_path, monkeypatch):
    submitted = tmp_path / "submitted"
    assert collect(
        write_zip(tmp_path / "first.zip", {"ada/toolbox.py": "# first\n"}), submitted, "backprop"
    ).collected == ["ada"]
    renames, rename = [], Path.rename

    def second_rename_fails(self, target):
        renames.append((self, Path(target)))
        # the old submission is moved aside; the new one cannot take its place
        if len(renames) == 2:
            raise OSError(28, "No space left on device", str(target))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", second_rename_fails)
    summary = collect(
        write_zip(tmp_path / "second.zip", {"ada/toolbox.py": "# second\n"}),
        submitted,
        "backprop",
        force=True,
    )

    destination = submitted / "ada" / "backprop"
    # moved aside, then the new one's rename fails
    assert renames[0][0] == destination and renames[1][1] == destination
    [(entry, reason)] = summary.skipped
    assert entry == "ada" and "No space left on device" in reason
    assert (destination / "toolbox.py").read_text() == "# first\n"


def password_protected(files):
    """A zip whose members claim to be encrypted (zipfile cannot write real ones): the flag bit is
    all it checks."""
    data = bytearray(zip_bytes(files))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start != -1:
            data[start + flag_offset] |= 0x1
            start = data.find(signature, start + 4)
    return bytes(data)


def test_a_password_protected_hand_in_is_skipped_with_what_to_do(tmp_path, capsys):
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "mallory.zip": password_protected(hand_in("mallory")),
            "ada/toolbox.py": "# ada's toolbox\n",
        },
    )
    assert (
        main(["collect", "backprop", "--zip", str(download), "--submitted", str(tmp_path / "s")])
        == 1
    )
    out = capsys.readouterr().out
    assert (
        "skipped    mallory.zip: student 'mallory': mallory.zip: 'toolbox.py' is "
        "password-protected; "
        "zip it again without a password"
    ) in out
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["ada"]


def test_a_folder_holding_a_zip_counts_its_depth_afresh(tmp_path):
    download = tmp_path / "lms"
    download.mkdir()
    (download / "ada_1_toolbox.zip").write_bytes(
        nested_zip({"toolbox.py": "t"}, ["toolbox.zip", "b.zip", "c.zip"])
    )
    (
        download / "ada_2_nn"
    ).mkdir()  # after a zip at the depth limit, a folder whose only content is a zip
    (download / "ada_2_nn" / "nn.zip").write_bytes(zip_bytes({"nn.py": "n"}))
    summary = collect(
        download, tmp_path / "submitted", "backprop", id_pattern=r"(?P<student_id>[^_]+)_[0-9]_"
    )
    assert summary.skipped == [] and summary.collected == ["ada"]
    assert sorted(p.name for p in (tmp_path / "submitted" / "ada" / "backprop").iterdir()) == [
        "nn.py",
        "toolbox.py",
    ]


def test_names_from_the_download_reach_the_terminal_escaped(tmp_path, capsys):
    download = tmp_path / "lms"
    for student in ("eve\x1b]0;pwned\x07", "ada"):
        (download / student).mkdir(parents=True)
        (download / student / "toolbox.py").write_text("x")
    assert (
        main(["collect", "backprop", "--zip", str(download), "--submitted", str(tmp_path / "s")])
        == 0
    )
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "collected  eve\\x1b]0;pwned\\x07 (no nn.py" in out


def test_moodle_folder_names_taken_whole_get_a_note(tmp_path, capsys):
    download = write_zip(
        tmp_path / "lms.zip", {"Bob Müller_200001_assignsubmission_file_/toolbox.py": "x"}
    )
    main(["collect", "backprop", "--zip", str(download), "--submitted", str(tmp_path / "s")])
    assert (
        "note: 'Bob Müller_200001_assignsubmission_file_' is a folder name as Moodle makes them"
        in capsys.readouterr().out
    )
    pattern = r"(?P<student_id>[^_]+_[0-9]+)_assignsubmission_file_"
    main(
        [
            "collect",
            "backprop",
            "--zip",
            str(download),
            "--submitted",
            str(tmp_path / "t"),
            "--id-pattern",
            pattern,
        ]
    )
    assert "Moodle makes them" not in capsys.readouterr().out


def test_a_zip_beside_other_files_in_a_students_folder_is_unpacked_beside_them(tmp_path, capsys):
    download = write_zip(
        tmp_path / "lms.zip",
        {
            "ada/backprop.zip": zip_bytes({f"backprop/{n}": t for n, t in hand_in("ada").items()}),
            "ada/notes.txt": "notes",
            "grace/toolbox.py": "# grace's toolbox\n",
            "grace/all.zip": zip_bytes(hand_in("grace")),  # the same toolbox.py twice
            "alan/toolbox.py": "# an older toolbox\n",
            "alan/all.zip": zip_bytes(hand_in("alan")),
        },
    )
    assert (
        main(["collect", "backprop", "--zip", str(download), "--submitted", str(tmp_path / "s")])
        == 1
    )
    out = capsys.readouterr().out
    for student, names in (
        ("ada", ["nn.py", "notes.txt", "toolbox.py"]),
        ("grace", ["nn.py", "toolbox.py"]),
    ):
        assert sorted(p.name for p in (tmp_path / "s" / student / "backprop").iterdir()) == names
    assert (tmp_path / "s" / "ada" / "backprop" / "toolbox.py").read_text() == "# ada's toolbox\n"
    assert (
        "skipped    alan: student 'alan': all.zip holds 'toolbox.py' and so does the folder "
        "beside it, "
        "with other contents; keep one and collect again"
    ) in out
