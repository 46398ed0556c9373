"""LLM providers and the factory that builds them from configuration.

A ``[providers.NAME]`` section's ``type`` (default: ``NAME``) picks the class:
a built-in type, or a class registered under the ``llmcore.providers`` entry
point group by another package.
"""

from __future__ import annotations

from llmcore._util.loading import import_object, load_entry_point
from llmcore.config.schema import ProviderSettings
from llmcore.config.suggest import did_you_mean
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

    Raises:
        ConfigError: the type is unknown, or its class is not a BaseProvider.
    """
    kind = settings.type or name
    if kind in BUILTIN_PROVIDERS:
        cls = import_object(BUILTIN_PROVIDERS[kind])
    else:
        cls = load_entry_point("llmcore.providers", kind)
        if cls is None:
            raise ConfigError(
                f"Provider {name!r} has unknown type {kind!r}."
                f"{did_you_mean(kind, BUILTIN_PROVIDERS)} Built-in types: "
                f"{', '.join(BUILTIN_PROVIDERS)}; others come from packages "
                "registering an 'llmcore.providers' entry point. For an OpenAI-compatible "
                f'server set providers.{name}.type = "openai".',
                key=f"providers.{name}.type",
            )
    if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
        raise ConfigError(f"Provider type {kind!r} does not name a BaseProvider subclass.")
    return cls(name, settings)
