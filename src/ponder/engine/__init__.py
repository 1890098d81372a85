"""Batched generation over token ids with thinking budgets, forced tokens and their mask."""

from ponder.engine.generate import Completion, GenerationParams, generate

__all__ = ["Completion", "GenerationParams", "generate"]
