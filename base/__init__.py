"""The floor under `course` and `grader`: where the course lives, how nbgrader is set up, how a
notebook is read, and the small text rules every message follows. It imports nothing of ours."""
