"""Optimizers (filled in by the optim issue)."""
