"""Errors a person can act on; the command line prints their message without a traceback."""


class CourseError(Exception):
    """Something in the course's files or arguments needs fixing; the message says what and
    where."""
