"""One patient: against controls (:mod:`.controls`), dissociations between two measures
(:mod:`.dissociations`), phase designs (:mod:`.phase`) and piecewise regression
(:mod:`.piecewise`).
"""
