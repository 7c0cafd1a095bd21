"""The approximation lab: ``lab`` (fit to a tolerance), ``studies``, ``cli`` (``annrl approx``), ``figures``."""
