"""llmcore: one async API over many LLM providers, built as a pipeline of stages.

import anyio
from llmcore import LLMCore

async def main() -> None:
    async with LLMCore() as llm:
        print(await llm.chat("What is the capital of France?"))

anyio.run(main)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmcore.exceptions import (
    ConfigError,
    ContextError,
    ContextLengthError,
    EmbeddingError,
    InvalidRequestError,
    LLMCoreError,
    MCPError,
    OutputValidationError,
    PipelineError,
    ProviderError,
    SessionNotFoundError,
    SessionStorageError,
    StorageError,
    ToolRoundsError,
    VectorStorageError,
    VectorStoreError,
)
from llmcore.models import ChatSession, ContextDocument, Message, Role, SessionInfo, ToolCall, Usage
from llmcore.pipeline.stage import Stage, WrappingStage
from llmcore.turn import Turn

if TYPE_CHECKING:
    from llmcore.api import LLMCore
    from llmcore.pipeline.stream import ChatStream

__version__ = "0.1.0"

__all__ = [
    "ChatSession",
    "ChatStream",
    "ConfigError",
    "ContextDocument",
    "ContextError",
    "ContextLengthError",
    "EmbeddingError",
    "InvalidRequestError",
    "LLMCore",
    "LLMCoreError",
    "MCPError",
    "Message",
    "OutputValidationError",
    "PipelineError",
    "ProviderError",
    "Role",
    "SessionInfo",
    "SessionNotFoundError",
    "SessionStorageError",
    "Stage",
    "StorageError",
    "ToolCall",
    "ToolRoundsError",
    "Turn",
    "Usage",
    "VectorStorageError",
    "VectorStoreError",
    "WrappingStage",
]


def __getattr__(name: str) -> Any:
    # LLMCore pulls in config loading, anyio and the pipeline machinery;
    # importing it on first use keeps `import llmcore` fast.
    if name == "LLMCore":
        from llmcore.api import LLMCore

        return LLMCore
    if name == "ChatStream":
        from llmcore.pipeline.stream import ChatStream

        return ChatStream
    raise AttributeError(f"module 'llmcore' has no attribute {name!r}")
