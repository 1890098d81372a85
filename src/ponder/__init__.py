"""ponder: a test-time-compute reasoning stack (think before answering, verify, scale the thinking)."""

__version__ = "0.1.0"
