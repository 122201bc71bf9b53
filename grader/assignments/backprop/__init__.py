"""Grading of the backprop assignment: the operations its cases run, and its checks' cases."""
