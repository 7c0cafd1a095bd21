"""The loss of every network at every epoch of a :class:`~annrl.nn.fit.Trainer`, in order.

The NumPy loop appends one row ``(P,)`` an epoch (an array of the network's backend, left where it is until
read); the compiled loop hands over a whole block ``(epochs, P)`` it wrote in one go. A block is kept as it
is: reading the epochs of one block is a view of it, not a copy. For 10,000 networks x 2000 epochs that
saves stacking 160 MB, which on a fresh heap costs longer than the compiled training itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annrl.backend import to_numpy


class LossLog:
    """Loss rows, oldest first: ``len(log)`` epochs, ``log[-1]`` the latest row, ``log[a:b]`` rows as one
    NumPy array ``(rows, P)`` (read-only where it is a view of a block)."""

    def __init__(self, population: int):
        self.population = population
        self._pieces: list[Any] = []  # rows (P,) of any backend, and NumPy blocks (k, P)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, row: Any) -> None:
        """One epoch's losses ``(P,)``."""
        self._pieces.append(row)
        self._count += 1

    def add_block(self, block: np.ndarray) -> None:
        """Epochs in a NumPy array ``(k, P)``, kept without a copy: the caller no longer writes to it."""
        if len(block):
            self._pieces.append(block)
            self._count += len(block)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            return self.rows(start, stop) if step == 1 else self.rows()[index]
        piece, offset = self._locate(range(self._count)[index])  # an IndexError past either end, as a list
        return piece[offset] if self._is_block(piece) else piece

    def rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Epochs ``start:stop`` as a NumPy array ``(rows, P)``."""
        span = range(self._count)[start:stop]
        parts, first = [], 0
        for piece in self._pieces:
            size = self._size(piece)
            lo, hi = max(span.start, first) - first, min(span.stop, first + size) - first
            if lo < hi:
                parts.append(piece[lo:hi] if self._is_block(piece) else to_numpy(piece).reshape(1, -1))
            first += size
        if not parts:
            return np.zeros((0, self.population))
        if len(parts) > 1:
            return np.concatenate(parts)
        view = parts[0].view()
        view.flags.writeable = False  # a view of the log: whoever reads it cannot change what was recorded
        return view

    @staticmethod
    def _is_block(piece: Any) -> bool:
        return isinstance(piece, np.ndarray) and piece.ndim == 2

    @classmethod
    def _size(cls, piece: Any) -> int:
        """Epochs a piece holds: a block's rows, or the one epoch of a row."""
        return len(piece) if cls._is_block(piece) else 1

    def _locate(self, epoch: int) -> tuple[Any, int]:
        """The piece holding ``epoch`` and the epoch's row in it, searched from the latest (the one most
        often read)."""
        end = self._count
        for piece in reversed(self._pieces):
            size = self._size(piece)
            if epoch >= end - size:
                return piece, epoch - (end - size)
            end -= size
        raise IndexError(epoch)
