"""Turn an instructor's .py helper into the student's stub file, with nbgrader's ClearSolutions.

nbgrader's generate_assignment copies .py files verbatim, solutions included;
here each solution region is replaced by the configured code stub, using the
same preprocessor (and so the same delimiters and stub) as for notebooks.
"""

import nbformat
from nbgrader.preprocessors import ClearSolutions

from course.markers import find_regions


def solution_clearer(config):
    """nbgrader's ClearSolutions as configured, allowed to work outside solution cells."""
    clearer = ClearSolutions(config=config)
    clearer.enforce_metadata = False
    return clearer


def strip_solutions(text, config, path):
    """`text` with every solution region replaced by the stub, and the number of regions
    replaced."""
    clearer = solution_clearer(config)
    regions = find_regions(
        text, clearer.begin_solution_delimeter, clearer.end_solution_delimeter, path
    )
    if not regions:
        return text, 0
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    notebook, _ = clearer.preprocess(notebook, {})
    return notebook.cells[0].source, len(regions)
