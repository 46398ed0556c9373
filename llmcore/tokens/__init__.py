"""Token counters: the provider-accurate ways llmcore counts tokens."""

from llmcore.tokens.tiktoken_counter import TiktokenCounter, encoding_for_model, get_counter

__all__ = ["TiktokenCounter", "encoding_for_model", "get_counter"]
