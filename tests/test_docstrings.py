"""Every public function and class of the covered packages has a docstring, with shapes where it takes arrays (#29).

The rule, so that the API reference reads well and says what goes in and comes out:

- **Public API.** For each covered package, every module under it whose dotted name has no part starting with
  ``_``; in each module, every function and class *defined there* (``obj.__module__`` is that module) whose name
  does not start with ``_``; in each such class, every function, static method and class method defined in its
  body whose name does not start with ``_`` (dunders such as ``__call__`` are left out: the class docstring
  documents them). Names re-exported in a package's ``__all__`` are covered where they are defined, so each
  object is checked once. Properties and constants are not checked.
- **Docstring.** ``inspect.getdoc`` must give a non-empty text. A method that overrides a documented method of a
  base class inherits that docstring (as the API reference shows it), so an override need not repeat it.
- **Shapes.** A function or method *takes arrays* when one of its parameters is annotated with ``np.ndarray``
  (alone, optional, or in a list or dict, not a callable's signature), or carries one of the names in
  ``ARRAY_NAMES`` (the names this project gives arrays) with no annotation or ``Any``. For a class, its
  ``__init__`` is read the same way.
  Its docstring must then state a shape written as a tuple with a comma, numpydoc style: ``(P, N, in)``,
  ``(N,)``, ``(n_params,)``.

The failure message lists every offender by qualified name, so one run shows all that is missing.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

#: the packages held to the rule (#29's target)
COVERED = ("annrl.nn", "annrl.symbolic", "annrl.envs", "annrl.agents")

#: parameter names that hold arrays in this project (samples, targets, gradients, flat parameter vectors)
ARRAY_NAMES = frozenset({
    "X", "Y", "x", "y", "z", "obs", "pred", "target", "x_t", "X_data", "y_data",
    "grad_y", "grad_a", "grad_z", "flat", "W",
})

#: a shape as numpydoc writes it: a parenthesised tuple with at least one comma, e.g. (P, N, in) or (N,)
SHAPE = re.compile(r"\(\s*[\w*+\-.]+\s*,(?:\s*[\w*+\-.]+\s*,?)*\s*\)")

_ARRAY_ANNOTATION = re.compile(r"^(?:np\.ndarray|numpy\.ndarray|ndarray)(?:\s*\|\s*None)?$|^(?:list|dict)\[.*ndarray")


def _public_modules(package: str) -> list:
    root = importlib.import_module(package)
    names = [package] + [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")]
    return [importlib.import_module(name) for name in names
            if not any(part.startswith("_") for part in name.split("."))]


def _members(module) -> list[tuple[str, object]]:
    """(qualified name, object) of every public function, class and method defined in ``module``."""
    found = []
    for name, obj in sorted(vars(module).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            found.append((f"{module.__name__}.{name}", obj))
        elif inspect.isclass(obj):
            found.append((f"{module.__name__}.{name}", obj))
            for attr, raw in sorted(vars(obj).items()):
                func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
                if not attr.startswith("_") and inspect.isfunction(func):
                    found.append((f"{module.__name__}.{name}.{attr}", getattr(obj, attr)))
    return found


def _api(packages=COVERED) -> list[tuple[str, object]]:
    return [member for package in packages for module in _public_modules(package) for member in _members(module)]


def _takes_arrays(obj) -> bool:
    func = obj.__init__ if inspect.isclass(obj) else obj
    if inspect.isclass(obj) and "__init__" not in vars(obj) and not _dataclass_fields(obj):
        return False
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    for param in params:
        annotation = param.annotation if isinstance(param.annotation, str) else getattr(
            param.annotation, "__name__", str(param.annotation))
        annotation = str(annotation).strip()
        if _ARRAY_ANNOTATION.search(annotation):
            return True
        # a name alone counts only where no annotation says otherwise (``inputs: list[str]`` holds names)
        if param.name in ARRAY_NAMES and annotation in ("Any", "_empty", "typing.Any"):
            return True
    return False


def _dataclass_fields(cls) -> bool:
    return "__dataclass_fields__" in vars(cls)


def _missing(packages=COVERED) -> tuple[list[str], list[str]]:
    no_doc, no_shape = [], []
    for qualname, obj in _api(packages):
        doc = inspect.getdoc(obj)
        if not doc or not doc.strip():
            no_doc.append(qualname)
        elif _takes_arrays(obj) and not SHAPE.search(doc):
            no_shape.append(qualname)
    return no_doc, no_shape


def test_the_walk_finds_the_public_api():
    names = {qualname for qualname, _ in _api()}
    assert {"annrl.nn.fit.fit", "annrl.nn.layers.Dense", "annrl.nn.layers.Dense.forward",
            "annrl.symbolic.exact.exact_form", "annrl.envs.car_env.CarTrackEnv", "annrl.agents.ppo.update"} <= names
    assert not any(part.startswith("_") for name in names for part in name.split("."))
    assert len(names) > 400


def test_the_shape_rule_tells_shapes_from_prose():
    assert SHAPE.search("X : ndarray of shape (P, N, in)")
    assert SHAPE.search("y : ndarray, shape (N,)")
    assert not SHAPE.search("the mean (over samples) of the loss")
    assert not SHAPE.search("X : ndarray")


@pytest.mark.parametrize("package", COVERED)
def test_every_public_function_and_class_has_a_docstring_with_shapes(package):
    no_doc, no_shape = _missing((package,))
    message = []
    if no_doc:
        message.append(f"{len(no_doc)} without a docstring:\n  " + "\n  ".join(no_doc))
    if no_shape:
        message.append(f"{len(no_shape)} take arrays but state no shape such as (P, N, in):\n  "
                       + "\n  ".join(no_shape))
    assert not message, "\n".join(message)
