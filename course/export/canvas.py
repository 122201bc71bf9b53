"""Canvas: fill the assignment's column of the gradebook CSV Canvas exports, for its import.

Canvas imports the file it exports: the same header (Student, ID, SIS User ID, SIS Login ID,
Section, then one "Name (id)" column per assignment) and its "Points Possible" row. A student is
matched by Canvas ID, SIS user ID or SIS login (as JupyterHub names them), or by the name Canvas
gives a submission download ("Lovelace, Ada" -> lovelaceada, as `course collect` keeps it). With no
column for the assignment, one is added, which Canvas's import offers to create.
"""

import re

from course.export.table import number

KEY_COLUMNS = ("ID", "SIS User ID", "SIS Login ID")


class Canvas:
    name = "Canvas"

    def __init__(self, rows, assignment, column=None, max_score=0.0):
        self.rows = [list(row) for row in rows]
        header = self.rows[0]
        if "Student" not in header or "ID" not in header:
            raise ValueError("it has no Student and ID columns: export the Canvas gradebook again")
        self.header_rows = 1 + next(
            (n for n, row in enumerate(self.rows[1:]) if not is_heading(row)), len(self.rows) - 1
        )
        wanted = column or assignment
        found = [n for n, name in enumerate(header) if names(name, wanted)]
        if len(found) > 1:
            raise ValueError(f"several columns are named {wanted!r}; pass the one with --column")
        if found:
            self.column, self.label = found[0], header[found[0]]
        else:
            self.column, self.label = len(header), wanted
            for n, row in enumerate(self.rows):
                filler = number(max_score) if n and "Points Possible" in row[0] else ""
                row.extend([""] * (self.column - len(row)) + [wanted if n == 0 else filler])

    def students(self):
        """(position, row) of every student row."""
        return [(n, row) for n, row in enumerate(self.rows) if n >= self.header_rows]

    def keys(self, row):
        cells = dict(zip(self.rows[0], row))
        return [cells.get(name, "") for name in KEY_COLUMNS] + [download_name(cells["Student"])]

    def ids(self, student_id):
        return [student_id]

    def describe(self, row):
        cells = dict(zip(self.rows[0], row))
        return f"{cells['Student']} ({cells.get('SIS Login ID') or cells['ID']})"

    def current(self, position):
        row = self.rows[position]
        return row[self.column] if self.column < len(row) else ""

    def unkeyed(self, matched):
        """Matched students Canvas could not place: none, every row has its Canvas ID."""
        return []

    def output(self, matched):
        """The import file: Canvas's own table with the column filled."""
        rows = [list(row) for row in self.rows]
        for position, grade in matched.items():
            row = rows[position]
            row.extend([""] * (self.column + 1 - len(row)))
            row[self.column] = number(grade.score)
        return rows


def is_heading(row):
    """Canvas's rows under the header that are no student: "Points Possible", "Manual Posting"."""
    return bool(row) and row[0].strip() in ("Points Possible", "Manual Posting")


def names(header, wanted):
    """Whether a column header is the assignment's: its name, with or without Canvas's id."""
    return re.sub(r"\s*\(\d+\)$", "", header).casefold() == wanted.casefold() or header == wanted


def download_name(student):
    """The name Canvas gives a student's files in a submission download: "Lovelace, Ada" ->
    lovelaceada."""
    return re.sub(r"[\W_]", "", student.casefold())
