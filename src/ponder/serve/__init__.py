"""OpenAI-compatible HTTP API (`ponder serve`): chat completions with reasoning effort and hidden thinking."""
