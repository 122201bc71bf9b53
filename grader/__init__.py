"""The pytest grader: trusted checks in the judge, untrusted code in a sandboxed worker.

`grader.worker` runs a submission's code (only ever inside `grader.sandbox`),
the pytest checks in `grader/test_backprop.py` compare what it returns with
`toolbox_solution` and central differences, and `grader.run` grades a class.
"""
