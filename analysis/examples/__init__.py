"""Example data: the seeded simulator (:mod:`.simulate`) and the bundled example datasets
in ``data/example/`` (:mod:`.bundled`).
"""
