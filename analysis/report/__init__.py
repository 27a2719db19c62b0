"""Present results: number formatting, tables, figures (:mod:`.plotting`), the kit the Quarto
documents call (:mod:`.kit`) and the rendering engines (:mod:`.render`).
"""
