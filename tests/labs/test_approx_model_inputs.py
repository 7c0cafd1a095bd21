"""The approximation lab's model file names the network's inputs (issue #26 item 3), for `annrl extract`."""

from annrl.cli import main
from annrl.io.network_file import load_network


def test_the_model_file_records_the_variables_of_the_expression_in_order(tmp_path, capsys):
    out = tmp_path / "approx"
    assert main(["approx", "sin(y) + x*y", "--domain", "-1:1", "--seeds", "1", "--epochs", "5", "--out", str(out),
                 "--json"]) == 0
    capsys.readouterr()
    net, metadata = load_network(out / "model.safetensors")
    assert metadata["lab"] == "approx" and metadata["inputs"] == ["x", "y"] and net.n_inputs == 2
