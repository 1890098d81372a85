"""Evaluation: accuracy of a model over a grid of tasks, levels and thinking budgets."""
