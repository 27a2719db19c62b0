"""The local web app (``itb app``): from a spreadsheet to a report without a terminal.

Modules: :mod:`~analysis.app.server` (routes, serve), :mod:`~analysis.app.security` (token,
headers), :mod:`~analysis.app.workspace` (working folder, safe upload names),
:mod:`~analysis.app.jobs` (runs of the ``itb`` command, state on disk), and the pages' helpers
(:mod:`~analysis.app.checks`, :mod:`~analysis.app.sheet_preview`,
:mod:`~analysis.app.mapping_form`, :mod:`~analysis.app.settings_form`).
"""
