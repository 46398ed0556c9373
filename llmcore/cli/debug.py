"""``llmchat --debug``: full tracebacks, and llmcore's DEBUG logs on stderr.

The logs are llmcore's own (``llmcore.*``: one line per turn with its
stages' times, what the context stages dropped, retries...), redacted like
every llmcore log record. The SDKs' and HTTP libraries' loggers stay quiet:
at DEBUG they print whole request bodies.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["DEBUG_OVERRIDES", "show_debug_logs"]

#: What ``--debug`` overrides in the configuration (``[llmcore] log_level``).
DEBUG_OVERRIDES = {"llmcore.log_level": "DEBUG"}


def show_debug_logs() -> None:
    """Print llmcore's log records, DEBUG and up, on stderr."""
    logger = logging.getLogger("llmcore")
    if any(getattr(h, "llmchat_debug", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.llmchat_debug = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
