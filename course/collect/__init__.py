"""`course collect` in three parts, each read and changed on its own: the command (command.py),
the LMS naming rules (lms.py) and archive safety (archives.py)."""

from course.collect.archives import UnsafeArchive
from course.collect.command import collect

__all__ = ["UnsafeArchive", "collect"]
