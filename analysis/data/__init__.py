"""Load and validate: readers of every input format, the codebook of measures, validation
rules, the study configuration and the derived change table.

This layer imports nothing from :mod:`analysis.stats`, :mod:`analysis.run` or
:mod:`analysis.report` (``tests/test_layers.py`` checks it).
"""
