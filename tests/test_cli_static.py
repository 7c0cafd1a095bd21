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


def _help(argv, capsys):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_rl_train_has_one_sub_command_per_algorithm_listing_its_options_only(capsys):
    ppo = _help(["rl", "train", "ppo"], capsys)
    assert "--clip-coef" in ppo and "--gae-lambda" in ppo
    assert "--population" not in ppo and "--buffer-size" not in ppo  # GA's and DQN's
    ga = _help(["rl", "train", "ga"], capsys)
    assert "--population" in ga and "--clip-coef" not in ga
    # the older form still parses every algorithm's flags
    args = build_parser(["rl"]).parse_args(["rl", "train", "--algo", "ga", "--population", "8"])
    assert (args.algo, args.population, getattr(args, "algo_command", None)) == ("ga", 8, None)
    args = build_parser(["rl"]).parse_args(["rl", "train", "ppo", "--clip-coef", "0.1"])
    assert (args.algo_command, args.clip_coef) == ("ppo", 0.1)


def test_every_option_with_a_default_shows_it(capsys):
    import argparse

    from annrl.cli import full_parser

    def leaves(parser, words):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for action in subs:
            for name, sub in action.choices.items():
                yield from leaves(sub, [*words, name])
        if not subs or parser._defaults.get("handler"):
            yield words, parser

    missing = []
    for words, parser in leaves(full_parser(), []):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if action.help in (None, argparse.SUPPRESS) or action.default in (None, False, argparse.SUPPRESS, []):
                continue
            if not action.option_strings and action.nargs is None:  # a required positional: no default applies
                continue
            text = formatter._get_help_string(action) % {"default": action.default, "prog": "", "choices": ""}
            if "default" not in text:
                missing.append(f"{' '.join(words)} {action.option_strings or action.dest}")
    assert missing == []
