"""What every system promises: printed equations equal the field, rhs equals its SymPy form."""

import numpy as np
import pytest
import sympy
from sympy.parsing.sympy_parser import (
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from annrl.calculus import to_numpy
from annrl.systems import DampedPendulum, LotkaVolterra, VanDerPol

SYSTEMS = [LotkaVolterra(), LotkaVolterra(alpha=2.0, beta=1.0, gamma=0.7, delta=0.05), DampedPendulum(),
           DampedPendulum(damping=0.0, gravity=3.7, length=2.0), VanDerPol(), VanDerPol(mu=0.3)]
READ_AS_WRITTEN = standard_transformations + (implicit_multiplication_application, convert_xor)


@pytest.mark.parametrize("system", SYSTEMS, ids=repr)
def test_printed_equations_read_back_as_the_field(system):
    names = {s.name: s for s in system.symbols}
    for line, name, field in zip(system.equations(), system.names, system.symbolic_rhs(), strict=True):
        lhs, rhs = line.split(" = ")
        assert lhs == f"{name}'"
        assert sympy.simplify(parse_expr(rhs, local_dict=names, transformations=READ_AS_WRITTEN) - field) == 0


@pytest.mark.parametrize("system", SYSTEMS, ids=repr)
def test_numpy_rhs_equals_its_sympy_form(system):
    states = np.random.default_rng(0).uniform(0.2, 3.0, size=(50, system.dim))
    expected = to_numpy(list(system.symbolic_rhs()), system.symbols)(*states.T)
    np.testing.assert_allclose(system.rhs(0.0, states), expected, rtol=1e-13)


@pytest.mark.parametrize("system", SYSTEMS, ids=repr)
def test_repr_rebuilds_the_system(system):
    rebuilt = eval(repr(system), {type(system).__name__: type(system)})
    assert rebuilt.parameters == system.parameters
