"""`course gradescope`: build the autograder bundle Gradescope runs for every hand-in
(`command.py` the options, `bundle.py` what goes in, `pins.py` the pinned packages, `setup.sh` and
`run_autograder` the scripts Gradescope runs)."""
