"""nbgrader settings for this course; the repository root is the course root."""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = "."

# The stub students see in place of each solution region, in notebooks and .py files alike.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Hidden tests leave the release; `course validate` runs the checks without them.
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# `course release` and `course validate` read this list as the files students complete.
# autograde copies the source version of every file over the student's unless told not to;
# for toolbox.py and nn.py that would hand every student the solution.
c.Autograde.exclude_overwriting = {"backprop": ["toolbox.py", "nn.py"]}

# `course grade` writes results.json and feedback.html to autograded/<student_id>/<assignment>/;
# nbgrader's own autograde --force deletes that folder before grading, so nbgrader's results go
# to a folder of their own and the two coexist.
c.CourseDirectory.autograded_directory = "nbgrader-autograded"
