"""A mistyped option costs the user two lines, not a page of usage."""

import pytest

from annrl.cli import main


@pytest.mark.parametrize(("argv", "error"), [
    (["xor", "--lr", "abc"], "annrl xor: error: argument --lr: invalid float value: 'abc'"),
    (["approx", "sin", "--no-such-flag"], "annrl: error: unrecognized arguments: --no-such-flag"),
    (["nope"], "annrl: error: argument COMMAND: invalid choice: 'nope'"),
])
def test_a_parse_error_is_one_usage_line_then_the_error(capsys, argv, error):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    usage, last = capsys.readouterr().err.splitlines()
    assert usage.startswith("usage: annrl") and usage.endswith("--help` lists them)")
    assert last.startswith(error)
