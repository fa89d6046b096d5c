"""Forgather runtime: trainers, optimizers, models and data for configs compiled by fgc."""

__version__ = "0.1.0"
