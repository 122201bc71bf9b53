"""Moodle: a grade-import CSV ("Import grades" -> "CSV file") keyed by ID number or email address.

It is made from the grades export Moodle gives (Grades -> Export -> plain text), which lists the
participants: a student is matched by ID number, email address or its user name (a hub's login is
often that), or by the full name Moodle puts in a submission download ("Ada Lovelace_123456", as
`course collect` keeps it). The file holds the key,
the names and one grade column, named after the assignment's grade item when the export has it,
for Moodle's import to map.
"""

import re

from course.export.table import number

KEYS = {"idnumber": "ID number", "email": "Email address"}


class Moodle:
    name = "Moodle"

    def __init__(self, rows, assignment, column=None, key="idnumber"):
        self.rows, header = rows, rows[0]
        self.key = KEYS[key]
        for needed in ("First name", "Last name", self.key):
            if needed not in header:
                raise ValueError(
                    f"it has no {needed!r} column: export the grades from Moodle with it"
                )
        wanted = column or assignment
        found = [n for n, name in enumerate(header) if grade_item(name, wanted)]
        if len(found) > 1:
            raise ValueError(f"several columns are named {wanted!r}; pass the one with --column")
        self.column = found[0] if found else None
        self.label = header[found[0]] if found else wanted

    def cells(self, row):
        return dict(zip(self.rows[0], row))

    def students(self):
        return list(enumerate(self.rows))[1:]

    def keys(self, row):
        cells = self.cells(row)
        full_name = f"{cells['First name']} {cells['Last name']}"
        email = cells.get("Email address", "")
        return [cells.get("ID number", ""), email, email.split("@")[0], full_name]

    def ids(self, student_id):
        return [student_id, download_id(student_id)]

    def describe(self, row):
        cells = self.cells(row)
        return f"{cells['First name']} {cells['Last name']} ({cells[self.key] or 'no ' + self.key})"

    def current(self, position):
        return "" if self.column is None else self.rows[position][self.column]

    def output(self, matched):
        """The import file: key, names and the grade, one row per matched student."""
        rows = [[self.key, "First name", "Last name", self.label]]
        for position, grade in sorted(matched.items()):
            cells = self.cells(self.rows[position])
            rows.append(
                [cells[self.key], cells["First name"], cells["Last name"], number(grade.score)]
            )
        return rows

    def unkeyed(self, matched):
        """Matched students whose row lacks the key: Moodle could not place their grade."""
        return [g.student_id for n, g in matched.items() if not self.cells(self.rows[n])[self.key]]


def grade_item(header, wanted):
    """Whether a column of Moodle's export is the assignment's grade: 'Assignment: NAME (Real)'."""
    match = re.fullmatch(r"(?:[^:]+: )?(.*?)(?: \((?:Real|Percentage|Letter)\))?", header)
    return header == wanted or (match is not None and match[1].casefold() == wanted.casefold())


def download_id(student_id):
    """The name in a Moodle download id: 'Ada Lovelace_123456' -> 'Ada Lovelace'."""
    return re.sub(r"_[0-9]+$", "", student_id)
