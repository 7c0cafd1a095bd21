"""Hopfield networks: patterns stored by the Hebbian or pseudo-inverse rule, recalled from cues.

``N`` binary neurons ``s_i = +-1`` with symmetric weights ``W`` (zero diagonal) and asynchronous
updates ``s_i <- sign(sum_j W_ij s_j)`` (a zero field keeps the state), one neuron at a time in a
random order each sweep, until a sweep changes nothing; the energy ``E = -1/2 s^T W s`` never rises.
The rules, their capacities and the experiments are in the memory lab (``annrl memory``); the
shipped 7x9 letters are the patterns of its examples.

>>> net = Hopfield("hebbian").store(letter_patterns("HT"))
>>> cue = corrupt(letter_patterns("H"), 0.1, np.random.default_rng(0))
>>> bool(np.array_equal(net.recall(cue, np.random.default_rng(1))[0], letter_patterns("H")))
True
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

from annrl.errors import InputError

RULES = ("hebbian", "pseudoinverse")
LETTER_SHAPE = (9, 7)
#: the Hebbian rule's capacity for random patterns, in patterns per neuron
HEBBIAN_CAPACITY = 0.138


# -- letters -------------------------------------------------------------------------------


@cache
def load_letters() -> dict[str, np.ndarray]:
    """The shipped letters ``{"A": bool array (9, 7), ...}`` from ``annrl/data/letters``."""
    text = resources.files("annrl").joinpath("data", "letters", "letters_7x9.txt").read_text(encoding="utf-8")
    # comments start with "# " (a bitmap row never holds a space)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("# ")]
    letters, rows, name = {}, LETTER_SHAPE[0], None
    for i in range(0, len(lines), rows + 1):
        name, bitmap = lines[i], lines[i + 1 : i + 1 + rows]
        if len(name) != 1 or len(bitmap) != rows or any(len(r) != LETTER_SHAPE[1] for r in bitmap):
            raise InputError(f"letters file: letter {name!r} is not a name and {rows} rows of {LETTER_SHAPE[1]}")
        letters[name] = np.array([[c == "#" for c in r] for r in bitmap])
    return letters


def letter_patterns(names: str) -> np.ndarray:
    """Letters as ``+-1`` patterns ``(p, 63)``, e.g. ``letter_patterns("HT")``."""
    letters = load_letters()
    unknown = [c for c in names if c not in letters]
    if unknown or not names:
        raise InputError.invalid("patterns", "capital letters A-Z (e.g. HTLX) or a count", names)
    return np.array([np.where(letters[c].ravel(), 1.0, -1.0) for c in names])


def distinct_letters(count: int) -> str:
    """``count`` letters chosen greedily to be as different as possible (least largest overlap).

    Starts from the letter least like all others; each next letter is the one whose largest
    ``|overlap|`` with those chosen is smallest (ties: alphabetical). Overlap is ``xi . xi' / N``.
    """
    names = sorted(load_letters())
    if not 1 <= count <= len(names):
        raise InputError.invalid("patterns", f"a count between 1 and {len(names)} or letters", count)
    patterns = letter_patterns("".join(names))
    overlap = np.abs(patterns @ patterns.T) / patterns.shape[1]
    np.fill_diagonal(overlap, 0.0)
    chosen = [int(np.argmin(overlap.mean(axis=1)))]
    while len(chosen) < count:
        worst = overlap[:, chosen].max(axis=1)
        worst[chosen] = np.inf
        chosen.append(int(np.argmin(worst)))
    return "".join(names[i] for i in chosen)


# -- the Hopfield network -----------------------------------------------------------------------


def hebbian_weights(patterns: np.ndarray) -> np.ndarray:
    """``W = (1/N) Xi^T Xi`` with zero diagonal, for patterns ``(..., p, N)`` -> ``(..., N, N)``."""
    patterns = np.asarray(patterns, dtype=float)
    W = np.swapaxes(patterns, -1, -2) @ patterns / patterns.shape[-1]
    return _zero_diagonal(W)


def pseudoinverse_weights(patterns: np.ndarray) -> np.ndarray:
    """The projection ``W = Xi (Xi^T Xi)^+ Xi^T`` onto the patterns' span, with zero diagonal.

    ``patterns`` is ``(..., p, N)``; rows are patterns (so ``Xi`` above is its transpose, ``(N, p)``).
    """
    patterns = np.asarray(patterns, dtype=float)
    W = np.swapaxes(patterns, -1, -2) @ np.linalg.pinv(patterns @ np.swapaxes(patterns, -1, -2)) @ patterns
    return _zero_diagonal(W)


def _zero_diagonal(W: np.ndarray) -> np.ndarray:
    n = W.shape[-1]
    W = W.copy()
    W[..., np.arange(n), np.arange(n)] = 0.0
    return W


def recall(W: np.ndarray, states: np.ndarray, rng: np.random.Generator, *, max_sweeps: int = 100,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Run asynchronous updates from ``states`` until no neuron changes (or ``max_sweeps``).

    Parameters
    ----------
    W : ndarray, shape (..., N, N)
        Symmetric weights; a leading axis (several networks) pairs with the same axis of ``states``.
    states : ndarray, shape (..., B, N)
        ``+-1`` starting states (cues), ``B`` per network.
    rng : numpy.random.Generator
        Draws the update order of each sweep (shared by the batch).
    max_sweeps : int, default=100

    Returns
    -------
    final : ndarray, shape (..., B, N)
    sweeps : ndarray of int, shape (..., B)
        Sweeps until the state stopped changing (``max_sweeps + 1`` if it never did).
    """
    s = np.array(states, dtype=float)
    N = s.shape[-1]
    sweeps = np.full(s.shape[:-1], max_sweeps + 1)
    for sweep in range(1, max_sweeps + 1):
        changed = np.zeros(s.shape[:-1], dtype=bool)
        for i in rng.permutation(N):
            field = (s @ W[..., :, i : i + 1])[..., 0]
            new = np.where(field > 0, 1.0, np.where(field < 0, -1.0, s[..., i]))
            changed |= new != s[..., i]
            s[..., i] = new
        sweeps[~changed & (sweeps > max_sweeps)] = sweep
        if not changed.any():
            break
    return s, sweeps


def energy(W: np.ndarray, states: np.ndarray) -> np.ndarray:
    """``E = -1/2 s^T W s`` of states ``(..., B, N)`` -> ``(..., B)``."""
    return -0.5 * np.einsum("...bi,...ij,...bj->...b", states, W, states)


def corrupt(patterns: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Copies of ``patterns`` ``(..., N)`` with exactly ``round(fraction N)`` bits flipped in each."""
    if not 0.0 <= fraction <= 1.0:
        raise InputError.invalid("noise", "between 0 and 1 (the fraction of bits flipped)", fraction)
    patterns = np.asarray(patterns, dtype=float)
    N = patterns.shape[-1]
    flips = int(round(fraction * N))
    cues = patterns.reshape(-1, N).copy()
    for row in cues:
        row[rng.choice(N, size=flips, replace=False)] *= -1.0
    return cues.reshape(patterns.shape)


class Hopfield:
    """A Hopfield network: ``store`` patterns by a rule, ``recall`` from cues.

    Parameters
    ----------
    rule : {"hebbian", "pseudoinverse"}, default="hebbian"

    Attributes
    ----------
    weights_ : ndarray, shape (N, N)
        Set by :meth:`store`.
    patterns_ : ndarray, shape (p, N)
    """

    def __init__(self, rule: str = "hebbian"):
        if rule not in RULES:
            raise InputError.invalid("rule", f"one of {list(RULES)}", rule)
        self.rule = rule

    def store(self, patterns: np.ndarray) -> Hopfield:
        """Store ``+-1`` patterns ``(p, N)``; returns self."""
        patterns = np.asarray(patterns, dtype=float)
        if patterns.ndim != 2 or not np.all(np.abs(patterns) == 1):
            raise InputError.invalid("patterns", "a (p, N) array of +1 and -1", f"shape {patterns.shape}")
        self.patterns_ = patterns
        self.weights_ = hebbian_weights(patterns) if self.rule == "hebbian" else pseudoinverse_weights(patterns)
        return self

    def recall(self, cues: np.ndarray, rng: np.random.Generator, max_sweeps: int = 100):
        """Final states ``(B, N)`` and sweeps ``(B,)`` from cues ``(B, N)`` (see :func:`recall`)."""
        return recall(self.weights_, np.atleast_2d(cues), rng, max_sweeps=max_sweeps)

    def classify(self, states: np.ndarray) -> np.ndarray:
        """For final states ``(B, N)``: the index of the stored pattern each equals, ``-(index + 1)``
        for a pattern's negative, ``p`` (the number of patterns) for anything else (spurious)."""
        p = len(self.patterns_)
        overlap = np.atleast_2d(states) @ self.patterns_.T / self.patterns_.shape[1]  # (B, p)
        out = np.full(overlap.shape[0], p)
        hit = np.isclose(overlap, 1.0)
        neg = np.isclose(overlap, -1.0)
        out[neg.any(axis=1)] = -(np.argmax(neg, axis=1)[neg.any(axis=1)] + 1)
        out[hit.any(axis=1)] = np.argmax(hit, axis=1)[hit.any(axis=1)]
        return out

    def __repr__(self):
        stored = f", {len(self.patterns_)} patterns of {self.patterns_.shape[1]}" if hasattr(self, "patterns_") else ""
        return f"Hopfield({self.rule}{stored})"
