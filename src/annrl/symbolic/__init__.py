"""Networks back to symbols (issue #8): Boolean formulas and exact closed forms read from networks.

- :func:`extract_logic`: a network with Boolean inputs as a minimal Boolean formula, with its margin.
- :func:`exact_form`: any dense network as its exact closed formula (SymPy, LaTeX, a Python function).
- :func:`extract_formula` / :func:`fit_formula`: a closed form for a network (or data) of 1-3 inputs, by
  sparse regression, power laws and expression-tree enumeration, split by separability and symmetry
  tests, with a Pareto front and an honest ``recovered`` against a stated tolerance.
"""

from annrl.symbolic.exact import ACTIVATION_FORMULAS, ExactForm, exact_form, network_expressions
from annrl.symbolic.formula import (
                                    Candidate,
                                    FormulaExtraction,
                                    extract_formula,
                                    fit_formula,
                                    formula_inputs,
                                    pareto_front,
)
from annrl.symbolic.library import PRIMITIVES, Term, build_library
from annrl.symbolic.logic import LogicExtraction, OutputLogic, extract_logic

__all__ = ["ACTIVATION_FORMULAS", "PRIMITIVES", "Candidate", "ExactForm", "FormulaExtraction", "LogicExtraction",
           "OutputLogic", "Term", "build_library", "exact_form", "extract_formula", "extract_logic", "fit_formula",
           "formula_inputs",
           "network_expressions", "pareto_front"]
