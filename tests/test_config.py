import argparse
from dataclasses import dataclass

import pytest

from annrl.config import add_flags, check_config, from_args, setting
from annrl.errors import InputError
from annrl.validate import POSITIVE, Options


@dataclass
class Config:
    target: str = setting("sin", "what to fit", flags=("target",), nargs="?")
    lr: float = setting(0.02, "learning rate")
    seeds: int = setting(10, "networks at once")
    loss: str = setting("mse", "loss", choices=["mse", "bce"])
    widths: tuple[int, ...] = setting((4, 4), "hidden widths", type=int, nargs="+")
    relative: bool = setting(False, "relative errors")
    internal: float = 0.5  # no setting: no flag

    def __post_init__(self):
        check_config({"lr": POSITIVE, "loss": [Options({"mse", "bce"})]}, self)


def parse(argv):
    parser = argparse.ArgumentParser()
    add_flags(parser, Config)
    return parser, parser.parse_args(argv)


def test_each_declared_field_becomes_a_flag_with_its_default_type_and_help():
    parser, args = parse([])
    assert (args.target, args.lr, args.seeds, args.loss, args.widths, args.relative) == (
        "sin", 0.02, 10, "mse", [4, 4], False)
    assert not hasattr(args, "internal")
    text = parser.format_help()
    assert "--lr LR" in text and "learning rate" in text and "{mse,bce}" in text


def test_flags_are_read_with_the_field_type_and_give_the_config_back():
    _, args = parse(["cos", "--lr", "0.5", "--seeds", "3", "--loss", "bce", "--widths", "8", "--relative"])
    config = from_args(Config, args, internal=0.25)
    assert config == Config("cos", 0.5, 3, "bce", [8], True, 0.25)
    assert isinstance(config.seeds, int) and isinstance(config.lr, float)


def test_a_bad_choice_is_refused_by_the_parser_and_a_bad_value_by_the_table():
    with pytest.raises(SystemExit):
        parse(["--loss", "hinge"])
    with pytest.raises(InputError, match="lr must be > 0, got -1"):
        Config(lr=-1.0)


def test_unset_flags_are_none_unless_given_and_their_help_names_the_config_default():
    parser = argparse.ArgumentParser()
    add_flags(parser, Config, ["lr", "seeds", "relative"], unset=True, spellings={"seeds": ("--n", "--seeds")})
    assert vars(parser.parse_args([])) == {"lr": None, "seeds": None, "relative": None}
    args = parser.parse_args(["--lr", "0.5", "--n", "3", "--relative", "no"])
    assert (args.lr, args.seeds, args.relative) == (0.5, 3, False)
    assert parser.parse_args(["--relative"]).relative is True
    text = " ".join(parser.format_help().split())
    assert "learning rate (default 0.02)" in text and "--n SEEDS, --seeds SEEDS" in text
    assert "--relative [BOOL]" in text
    with pytest.raises(SystemExit):
        parser.parse_args(["--relative", "maybe"])


def test_hidden_flags_parse_but_are_not_listed():
    parser = argparse.ArgumentParser()
    add_flags(parser, Config, ["lr"], show=False)
    assert parser.parse_args(["--lr", "0.1"]).lr == 0.1
    assert "--lr" not in parser.format_help()
