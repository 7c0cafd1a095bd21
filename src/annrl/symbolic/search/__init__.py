"""Formula searches, one file per method on one base (the layout of pysindy's ``differentiation/``).

- :mod:`.base`: the primitive table, expression trees, :class:`Candidate` and :class:`Problem`;
- :mod:`.sparse`: sparse regression over a library of terms (forward stepwise and STLSQ);
- :mod:`.powerlaw`: power laws as straight lines in logarithms;
- :mod:`.trees`: enumeration of small expression trees, alone and in pairs;
- :mod:`.separable`: separability and symmetry tests on an oracle;
- :mod:`.guided`: splitting a problem where those tests allow, the parts solved on the data;
- :mod:`.constants`: rounding fitted constants to the simplest values the data allow;
- :mod:`.run`: one extraction's direct searches, the choice of a model and its finishing.
"""

from annrl.symbolic.search.base import OPS, Candidate, Problem, pareto_front

__all__ = ["OPS", "Candidate", "Problem", "pareto_front"]
