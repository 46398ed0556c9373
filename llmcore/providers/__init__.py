"""LLM providers and the factory that builds them from configuration.

A ``[providers.NAME]`` section's ``type`` (default: ``NAME``) picks the class:
a built-in type, a ``"package.module:Class"``, or a class registered under the
``llmcore.providers`` entry point group by another package.
"""

from __future__ import annotations

from llmcore._util.plugins import find_plugin
from llmcore.config.schema import ProviderSettings
from llmcore.exceptions import ConfigError
from llmcore.providers.base import BaseProvider, ChatResult, StreamEvent

__all__ = ["BUILTIN_PROVIDERS", "BaseProvider", "ChatResult", "StreamEvent", "create_provider"]

BUILTIN_PROVIDERS: dict[str, str] = {
    "openai": "llmcore.providers.openai:OpenAIProvider",
    "anthropic": "llmcore.providers.anthropic:AnthropicProvider",
    "gemini": "llmcore.providers.gemini:GeminiProvider",
    "ollama": "llmcore.providers.ollama:OllamaProvider",
    "local": "llmcore.providers.local:LocalProvider",
}


def create_provider(name: str, settings: ProviderSettings) -> BaseProvider:
    """Build the provider configured as ``[providers.NAME]``.

    ``type`` (default: ``NAME``) is a built-in type, a
    ``"package.module:Class"``, or an ``llmcore.providers`` entry point. A
    class written against the specification (``__init__(self, config:
    dict)``) gets the section as a dict, with its ``name``.

    Raises:
        ConfigError: the type is unknown, or its class is not a BaseProvider.
    """
    kind = settings.type or name
    try:
        cls = find_plugin(
            kind,
            builtins=BUILTIN_PROVIDERS,
            group="llmcore.providers",
            base=BaseProvider,
            key=f"providers.{name}.type",
            what="provider",
        )
    except ConfigError as exc:
        if kind in BUILTIN_PROVIDERS or ":" in kind or "subclass" in str(exc):
            raise
        raise ConfigError(
            f'{exc} For an OpenAI-compatible server set providers.{name}.type = "openai".',
            key=f"providers.{name}.type",
        ) from None
    if _takes_a_config_dict(cls):
        import msgspec

        return cls({"name": name, **msgspec.structs.asdict(settings)})  # type: ignore[no-any-return]
    return cls(name, settings)  # type: ignore[no-any-return]


def _takes_a_config_dict(cls: type) -> bool:
    """Whether ``cls.__init__`` is the specification's ``(self, config)``."""
    import inspect

    if cls.__init__ is BaseProvider.__init__:  # type: ignore[misc]
        return False
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # type: ignore[misc]
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in params
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(required) == 1
