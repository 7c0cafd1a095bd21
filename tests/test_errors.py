"""Error messages stay one short line, whatever value they quote."""

import time

from annrl.errors import InputError, show_value


def test_a_huge_shared_structure_is_quoted_without_being_expanded():
    value = [0]
    for _ in range(40):
        value = [value] * 10  # 10**40 leaves if printed in full, as an expanded YAML alias bomb would be
    started = time.monotonic()
    text = show_value(value)
    assert time.monotonic() - started < 1
    assert len(text) == 80 and text.startswith("[[[[[...], [...]") and text.endswith("...")


def test_small_values_are_quoted_exactly():
    assert str(InputError.invalid("lr", "> 0", -0.1)) == "lr must be > 0, got -0.1"
    assert show_value({"width": {}}) == "{'width': {}}"
    assert show_value("a\nb") == r"'a\nb'"  # repr escapes the line break: the message stays one line
