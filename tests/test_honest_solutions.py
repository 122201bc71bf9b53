"""The honest class the similarity check is calibrated on is a class of correct solutions."""

from handins import MAX_SCORE, grade_handin, write_handin
from honest_solutions import STYLES, honest_files


def test_every_style_earns_full_marks(tmp_path):
    results = {
        style: grade_handin(
            style, write_handin(tmp_path / style.replace(" ", "_"), honest_files(s))
        )
        for style, s in STYLES.items()
    }
    assert {style: (r.status, r.score) for style, r in results.items()} == {
        style: ("graded", MAX_SCORE) for style in STYLES
    }
