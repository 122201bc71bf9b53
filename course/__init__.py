"""The course's command line: release, validate, collect, grade and demo."""
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
