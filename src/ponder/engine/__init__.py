"""Batched generation over token ids with thinking budgets, forced tokens and their mask."""

from ponder.engine.generate import Completion, Decoder, GenerationParams, generate

__all__ = ["Completion", "Decoder", "GenerationParams", "generate"]
