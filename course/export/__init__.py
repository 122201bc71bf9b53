"""`course export`: grades.csv turned into the grade-import file of an LMS, one module per LMS."""
