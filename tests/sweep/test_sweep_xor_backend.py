"""``annrl xor --backend torch --device cpu`` trains the same networks as NumPy; bad devices are refused."""

import json

import numpy as np
import pytest

from annrl.cli import main
from annrl.labs.xor.lab import XorConfig, train


def test_the_xor_lab_on_torch_agrees_with_numpy():
    pytest.importorskip("torch")
    config = XorConfig(seeds=64, epochs=200, extend=1)
    numpy_run, torch_run = train(config), train(config, backend="torch", device="cpu")
    np.testing.assert_allclose(torch_run.loss, numpy_run.loss, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(torch_run.solved_epoch, numpy_run.solved_epoch)
    np.testing.assert_array_equal(torch_run.kinds, numpy_run.kinds)
    np.testing.assert_array_equal(torch_run.escaped, numpy_run.escaped)
    assert 0 < numpy_run.metrics["solved"] < 64  # some solve, some fail: the comparison means something
    assert torch_run.metrics["timing"]["backend"] == "torch:cpu"


def test_the_cli_takes_backend_and_device(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["xor", "--seeds", "8", "--epochs", "50", "--extend", "0", "--backend", "torch", "--device", "cpu",
                 "--no-figures", "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["timing"]["backend"] == "torch:cpu"


@pytest.mark.parametrize(("flags", "message"), [
    (["--device", "cuda"], "--device cuda needs --backend torch"),
    (["--backend", "torch", "--device", "nonsense"], "--device 'nonsense' cannot be used by torch"),
])
def test_unusable_devices_are_refused_with_one_line(tmp_path, capsys, flags, message):
    pytest.importorskip("torch")
    assert main(["xor", "--epochs", "5", "--out", str(tmp_path), *flags]) == 2
    assert message in capsys.readouterr().err


def test_cuda_without_a_gpu_says_so(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["xor", "--epochs", "5", "--out", str(tmp_path), "--backend", "torch", "--device", "cuda"]) == 2
    assert "--device cuda: CUDA is not available" in capsys.readouterr().err
