"""Grading one hand-in inside Gradescope's container: `handin.py` finds it in what the student
uploaded, `autograder.py` grades it with `grader.run` (the same worker and judge as `course grade`)
and always writes results.json. `course gradescope` packs them into the bundle Gradescope runs."""
