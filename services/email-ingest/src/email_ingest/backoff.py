"""Exponential backoff with jitter for reconnecting."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial: float, maximum: float, factor: float = 2.0) -> None:
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.factor = factor
        self.attempts = 0

    def next(self) -> float:
        """The next delay: initial * factor**n, capped, with +-20 % jitter."""
        base = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return base * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.attempts = 0
