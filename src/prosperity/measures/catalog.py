"""Registers every measure kernel under its CLI name. One ``register`` block per kernel module."""

from __future__ import annotations

from .gini import gini_sorted
from .registry import MeasureSpec, register

register(MeasureSpec("gini", lambda s, *, influence=True: gini_sorted(s, influence), "Gini coefficient (laeken convention)"))
