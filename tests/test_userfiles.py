"""User files that could hurt (FIFOs, folders, binaries, deep nesting, YAML alias bombs) are refused in one line."""

import os
import time

import pytest

from annrl.errors import InputError
from annrl.userfiles import json_depth, load_json, load_yaml, parse_json, read_text

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9))  # the last list alone holds 10**10 scalars once expanded


def test_a_fifo_is_refused_by_type_without_blocking(tmp_path):
    fifo = tmp_path / "track.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"track file '.*track.json' is a FIFO \(named pipe\), not a regular file"):
        load_json(fifo, "track file")
    assert time.monotonic() - started < 5


def test_a_directory_named_like_a_file_is_refused(tmp_path):
    (tmp_path / "x.json").mkdir()
    with pytest.raises(InputError, match="is a directory, not a regular file"):
        read_text(tmp_path / "x.json", "metrics file")


def test_a_binary_file_names_itself_and_the_first_bad_byte(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_bytes(b"command: xor\n\xff\xfe")
    with pytest.raises(InputError, match=r"sweep file '.*sweep.yaml' is not UTF-8 text \(byte 13 is 0xff\)"):
        load_yaml(path, "sweep file")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.json"
    path.write_text("[" + "0," * 600 + "0]")
    with pytest.raises(InputError, match="is 1,203 bytes; the limit is 1,000"):
        load_json(path, "track file", max_bytes=1000)


@pytest.mark.parametrize("depth", [65, 10_000, 100_000])
def test_json_nested_too_deep_is_refused_before_parsing(depth):
    with pytest.raises(InputError, match=f"metrics is nested {depth} levels deep; the limit is 64"):
        parse_json("[" * depth + "]" * depth, "metrics")


def test_json_depth_skips_brackets_inside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[{{{\\"]]]"}]}') == 3
    assert parse_json('{"a": "[[[[", "b": [[1]]}', "x") == {"a": "[[[[", "b": [[1]]}


def test_malformed_json_names_the_place():
    with pytest.raises(InputError, match=r"x is not valid JSON: Expecting ',' delimiter \(line 2, column 5\)"):
        parse_json('{"a": 1\n    "b": 2}', "x")


def test_a_yaml_alias_bomb_is_sized_without_being_expanded(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"expands to 12,345,679,021 values once its aliases are followed"):
        load_yaml(path, "sweep file")
    assert time.monotonic() - started < 5


def test_modest_yaml_aliases_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {lr: 0.1}\nother: *b\n")
    assert load_yaml(path, "sweep file") == {"base": {"lr": 0.1}, "other": {"lr": 0.1}}


def test_deep_yaml_is_refused_in_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 100 + "]" * 100)
    with pytest.raises(InputError, match="is nested 100 levels deep; the limit is 64"):
        load_yaml(path, "sweep file")
    path.write_text("[" * 20_000 + "]" * 20_000)
    with pytest.raises(InputError, match="nested too deeply"):
        load_yaml(path, "sweep file")
