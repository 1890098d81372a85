"""Training: cold-start SFT on solver traces (and, later, GRPO)."""
