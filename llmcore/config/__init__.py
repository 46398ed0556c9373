"""Configuration: layered loading into a typed, read-only schema."""

from llmcore.config.loader import ResolvedConfig, load_config
from llmcore.config.schema import (
    ContextSettings,
    CoreSettings,
    EmbeddingModelSettings,
    LLMCoreConfig,
    MCPServerSettings,
    MCPSettings,
    PipelineSettings,
    ProviderSettings,
    SessionStorageSettings,
    StorageSettings,
    VectorStorageSettings,
)

__all__ = [
    "ContextSettings",
    "CoreSettings",
    "EmbeddingModelSettings",
    "LLMCoreConfig",
    "MCPServerSettings",
    "MCPSettings",
    "PipelineSettings",
    "ProviderSettings",
    "ResolvedConfig",
    "SessionStorageSettings",
    "StorageSettings",
    "VectorStorageSettings",
    "load_config",
]
