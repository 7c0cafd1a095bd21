"""``annrl --help`` answers from a static table; a command's own parser imports that command alone."""

import subprocess
import sys

import pytest

from annrl.cli import COMMANDS, build_parser, main

HEAVY = ("scipy", "sympy", "matplotlib", "annrl.labs", "annrl.agents", "annrl.envs", "gymnasium")


def _imported_after(code: str) -> list[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    modules = done.stdout.split()
    return [name for name in HEAVY if name in modules]


def test_top_level_help_imports_no_lab_and_lists_every_command():
    code = ("import contextlib, io\nfrom annrl.cli import main\nout = io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n    main(['--help'])\n"
            f"assert all(name in out.getvalue() for name in {list(COMMANDS)!r})")
    assert _imported_after(code) == []


def test_import_annrl_nn_brings_neither_scipy_sympy_nor_matplotlib():
    assert _imported_after("import annrl.nn") == []


def test_the_table_says_what_each_module_registers():
    # the static help must not drift from the commands' own parsers
    for name, (module, help_text) in COMMANDS.items():
        parser = build_parser([name])
        sub = next(a for a in parser._actions if a.dest == "command")
        assert list(sub.choices) == [name], module
        assert [c.help for c in sub._choices_actions] == [help_text], name


def test_a_command_help_shows_the_defaults_argparse_would_hide(capsys):
    with pytest.raises(SystemExit):
        main(["xor", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "learning rate (default: 0.02)" in text
    assert "--json print metrics.json on stdout instead of a table --checkpoint-every" in text  # no default: False


def test_completion_script_names_every_command(capsys):
    pytest.importorskip("shtab")
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "complete -o bashdefault -F _shtab_annrl annrl" in script
    assert "--checkpoint-every" in script and "approx" in script
