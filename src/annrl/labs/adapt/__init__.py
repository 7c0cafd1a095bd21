"""Adaptive networks: learning that never stops.

- :mod:`~annrl.nn.lms` (engine level, used here): Adaline (LMS, normalised LMS) and Madaline (MRI);
- :mod:`~annrl.labs.adapt.theory`: Wiener solution, step-size bounds, misadjustment, learning curves;
- :mod:`~annrl.labs.adapt.filters`: system identification, noise cancelling, tracking;
- :mod:`~annrl.labs.adapt.drift`: Page-Hinkley and ADWIN drift detectors;
- :mod:`~annrl.labs.adapt.streams`: drifting streams (sudden, gradual, recurring, activity);
- :mod:`~annrl.labs.adapt.prequential`: stream learners and test-then-train evaluation;
- :mod:`~annrl.labs.adapt.grow`: a network that adds hidden units when its error plateaus;
- :mod:`~annrl.labs.adapt.lab`: the experiments of ``annrl adapt``, each ``run_*(config) -> Result``;
- :mod:`~annrl.labs.adapt.cli` and :mod:`~annrl.labs.adapt.figures`: the command and its figures.
"""

from annrl.labs.adapt.drift import ADWIN, PageHinkley
from annrl.labs.adapt.grow import GrowingNetwork
from annrl.labs.adapt.prequential import StreamLearner, recovery
from annrl.labs.adapt.streams import Stream, make_stream
from annrl.nn.lms import Adaline, Madaline

__all__ = ["ADWIN", "Adaline", "GrowingNetwork", "Madaline", "PageHinkley", "Stream", "StreamLearner",
           "make_stream", "recovery"]
