"""The logic lab: ``lab`` (learn and explain), ``compile`` (exact threshold networks), ``cli``, ``figures``."""
