"""The logic lab's learned networks on disk (model.safetensors), read back by `annrl extract --kind logic`."""

import json

import sympy

from annrl.cli import main
from annrl.io.network_file import load_network


def test_extract_reads_back_the_function_the_logic_lab_learned(tmp_path, capsys):
    out = tmp_path / "logic"
    assert main(["logic", "(a & ~b) | c; a ^ b", "--learn", "--seeds", "16", "--epochs", "400",
                 "--max-hidden", "4", "--out", str(out), "--json"]) == 0
    learned = json.loads(capsys.readouterr().out)
    net, metadata = load_network(out / "model.safetensors")
    assert metadata["lab"] == "logic" and metadata["inputs"] == ["a", "b", "c"]
    assert net.population == 16 and metadata["hidden"] == learned["hidden"]
    assert sorted(metadata["seeds"]) == list(range(16))
    solved = metadata["solved"]
    assert solved[0] and solved == sorted(solved, reverse=True)  # the solved networks come first
    assert sum(solved) == round(16 * learned["learned_success_rate"])

    assert main(["extract", str(out / "model.safetensors"), "--kind", "logic", "--out", str(tmp_path / "x"),
                 "--json"]) == 0
    extracted = json.loads(capsys.readouterr().out)
    a, b, c = sympy.symbols("a b c")
    truths = [(a & ~b) | c, a ^ b]
    for output, truth in zip(extracted["outputs"], truths, strict=True):
        formula = sympy.sympify(output["formula"], locals={"a": a, "b": b, "c": c})
        assert output["consistent"] and sympy.simplify_logic(sympy.Xor(formula, truth)) == sympy.false, output
