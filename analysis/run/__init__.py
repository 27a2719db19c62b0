"""Run the pipeline: every applicable analysis on a validated dataset (:mod:`.pipeline`),
the one-patient wiring (:mod:`.single_case`), the manifest of a run (:mod:`.manifest`) and
its reproduction (:mod:`.reproduce`).
"""
