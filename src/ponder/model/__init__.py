"""Tokenizer, model configs and checkpoint I/O for ponder's own tiny reasoning models."""
