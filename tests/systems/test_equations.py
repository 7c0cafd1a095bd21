"""The user's own system: equations typed as text, read safely, simulated; measured CSV trajectories."""

import numpy as np
import pytest
import sympy

from annrl.errors import InputError
from annrl.systems import EquationSystem, LotkaVolterra, System
from annrl.systems.data import read_trajectory_csv
from annrl.systems.equations import parse_params

LV = "x' = a*x - b*x*y; y' = d*x*y - c*y"
PARAMS = {"a": 1.3, "b": 0.5, "c": 0.7, "d": 0.2}


def test_typed_lotka_volterra_matches_the_built_in_one():
    typed = System.from_equations(LV, {"a": 1.1, "b": 0.4, "c": 0.4, "d": 0.1})
    built_in = LotkaVolterra()
    states = np.random.default_rng(0).uniform(1, 10, size=(50, 2))
    np.testing.assert_allclose(typed.rhs(0.0, states), built_in.rhs(0.0, states), rtol=1e-14)
    np.testing.assert_allclose(typed.simulate((10, 10), (0, 5), 0.1).x, built_in.simulate((10, 10), (0, 5), 0.1).x,
                               rtol=1e-8)
    assert isinstance(typed, EquationSystem) and typed.names == ("x", "y")


def test_terms_and_equations_in_the_users_names_with_inline_numbers():
    system = System.from_equations("du/dt = -0.5*u + 2*u*w^2\ndw/dt = k*(u - w)", {"k": 3})
    assert system.names == ("u", "w") and system.parameters == {"k": 3.0}
    assert system.terms() == {"u": {"u": -0.5, "u*w^2": 2.0}, "w": {"u": 3.0, "w": -3.0}}
    assert system.equations() == ["u' = -0.5 u + 2 u w^2", "w' = 3 u - 3 w"]
    u, w = sympy.symbols("u w")
    assert [sympy.simplify(e - truth) for e, truth in zip(system.symbolic_rhs(), [2 * u * w**2 - u / 2, 3 * u - 3 * w],
                                                          strict=True)] == [0, 0]


def test_one_to_six_state_variables():
    six = "; ".join(f"x{i}' = -x{i} + 0.1*x{(i + 1) % 6}" for i in range(6))
    assert System.from_equations(six).dim == 6
    assert System.from_equations("x' = -x").simulate((1.0,), (0, 1), 0.5).x[-1, 0] == pytest.approx(np.exp(-1))
    seven = "; ".join(f"x{i}' = -x{i}" for i in range(7))
    with pytest.raises(InputError, match="1 to 6 state variables, got 7"):
        System.from_equations(seven)


@pytest.mark.parametrize(("equations", "params", "variables", "message"), [
    ("x' = a*x - q*x*y; y' = -y", {"a": 1}, None, r"equation 1 \(x'\): .*unknown name 'q'.*\(at column 7\)"),
    ("x' = y", {}, None, r"equation 1 \(x'\): .*unknown name 'y'"),
    ("x' = -x", {}, ["x", "z"], "state variable 'z' has no equation"),
    ("x' = a*x", {"a": "fast"}, None, "parameter 'a' must be a number, got 'fast'"),
    ("x' = a*x", {"a": 1, "b": 2}, None, "parameter 'b' is not used by any equation"),
    ("x = 3", {}, None, "equation 1 'x = 3' must read \"x' = ...\" or \"dx/dt = ...\""),
    ("x' = -x; x' = x", {}, None, "equation 2: x' is given twice"),
    ("x' = __import__('os')", {}, None, "equation 1"),
])
def test_bad_equations_are_refused_with_one_line_naming_the_equation(equations, params, variables, message):
    with pytest.raises(InputError, match=message) as error:
        System.from_equations(equations, params, variables)
    assert "\n" not in str(error.value)


def test_params_from_the_command_line():
    assert parse_params("a=1.3, b=0.5") == {"a": 1.3, "b": 0.5}
    with pytest.raises(InputError, match="parameter 'b' must be a number, got 'x'"):
        parse_params("a=1,b=x")
    with pytest.raises(InputError, match="name=value"):
        parse_params("a")


def write(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def test_a_csv_trajectory_with_irregular_steps_is_read_in_the_columns_order(tmp_path):
    t = np.cumsum(np.r_[0, np.random.default_rng(0).uniform(0.05, 0.15, 19)])
    rows = "\n".join(f"{y:.6f},{ti:.6f},{x:.6f}" for ti, x, y in zip(t, np.sin(t), np.cos(t), strict=True))
    trajectory = read_trajectory_csv(write(tmp_path, "y,t,x\n" + rows + "\n\n"), ["x", "y"])
    assert trajectory.names == ("x", "y") and trajectory.x.shape == (20, 2)
    np.testing.assert_allclose(trajectory.x[:, 0], np.sin(t), atol=1e-6)
    assert np.isnan(trajectory.dxdt_clean).all()


@pytest.mark.parametrize(("lines", "message"), [
    ({3: "0.2,,1"}, r"line 4, column 'x': missing value"),
    ({5: "0.4,nan,1"}, r"line 6, column 'x': nan \(every value must be finite\)"),
    ({2: "0.1,1"}, r"line 3, column 'y': missing value"),
    ({7: "0.4,1,2"}, r"line 8, column 't': time 0.4 does not increase \(previous 0.5\)"),
    ({4: "0.3,abc,1"}, r"line 5, column 'x': not a number: 'abc'"),
])
def test_a_bad_csv_is_refused_naming_the_line_and_column(tmp_path, lines, message):
    rows = [f"{0.1 * i:.1f},{i},{2 * i}" for i in range(15)]
    for index, text in lines.items():
        rows[index - 1] = text
    with pytest.raises(InputError, match=message):
        read_trajectory_csv(write(tmp_path, "t,x,y\n" + "\n".join(rows)))


def test_a_csv_without_the_state_column_or_time_is_refused(tmp_path):
    with pytest.raises(InputError, match="line 1: no column for state variable 'z'"):
        read_trajectory_csv(write(tmp_path, "t,x,y\n" + "\n".join(f"{i},1,2" for i in range(12))), ["x", "z"])
    with pytest.raises(InputError, match="line 1: no 't' column"):
        read_trajectory_csv(write(tmp_path, "time,x\n0,1\n"))
