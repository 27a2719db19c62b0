"""Models and statistics: descriptives, paired tests, effect sizes, individual change, dose,
mixed models (:mod:`analysis.stats.lmm`) and single-case methods
(:mod:`analysis.stats.single_case`). Each function returns rows of the results table.

Imports only :mod:`analysis.data` and the core modules (``tests/test_layers.py``).
"""
