"""Storage: session stores (``sessions/``) and vector stores (``vectors/``)."""
