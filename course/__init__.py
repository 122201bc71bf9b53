"""The course's command line: release, validate, collect, grade and demo."""

import sys

import base  # noqa: F401  (first: it sets how many threads numpy's BLAS starts)

# nbformat validates notebooks with jsonschema, which loads the optional rfc3987_syntax
# package when it is installed (jupyter_server pulls it in) and compiles 39 grammars
# there: 1.5 s on every command, for IRI formats no notebook schema uses. Without it,
# jsonschema simply skips those formats.
sys.modules.setdefault("rfc3987_syntax", None)
