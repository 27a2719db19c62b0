"""Present results: number formatting, tables, figures (:mod:`.plotting`), report helpers
used by the Quarto documents (:mod:`.helpers`) and the rendering engines (:mod:`.render`).
"""
