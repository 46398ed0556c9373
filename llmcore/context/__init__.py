"""Context-window helpers shared by the context stages.

``units`` groups history into pieces that are kept or dropped whole,
``documents`` renders retrieved documents into the payload, ``fit`` applies
the truncation priorities, and ``summary`` writes and reuses summaries of
history that no longer fits.
"""
