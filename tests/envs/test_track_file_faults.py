"""Track files with wrong field types: one line naming the file and the field (issue #24)."""

import json

import pytest

from annrl.envs.tracks import load_track
from annrl.errors import InputError


@pytest.fixture
def oval():
    return json.loads(json.dumps(load_track("oval").to_dict()))


@pytest.mark.parametrize("field, value, message", [
    ("difficulty", "hard", "difficulty must be an integer in [0, 1000], got 'hard'"),
    ("difficulty", float("inf"), "difficulty must be an integer in [0, 1000], got inf"),
    ("difficulty", [1], "difficulty must be an integer in [0, 1000], got [1]"),
    ("width", float("nan"), "width must be a number > 0, got nan"),
    ("width", {}, "width must be a number > 0, got {}"),
])
def test_a_bad_number_field_names_the_file_and_the_field(oval, tmp_path, field, value, message):
    oval[field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(oval))
    with pytest.raises(InputError) as caught:
        load_track(path)
    assert str(caught.value) == f"track {path.name!r}: {message}"


def test_string_coordinates_are_refused_not_read_as_numbers(oval, tmp_path):
    oval["inner"][0] = [str(v) for v in oval["inner"][0]]
    path = tmp_path / "strings.json"
    path.write_text(json.dumps(oval))
    with pytest.raises(InputError, match=r"inner wall must be a list of \[x, y\] pairs of numbers, got \[\["):
        load_track(path)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.update(difficulty=None), "difficulty must be an integer in [0, 1000], got None"),
    (lambda t: t.update(difficulty=10**400), "difficulty must be an integer in [0, 1000], got 1000000000"),
    (lambda t: t.update(width=10**400), "width must be a number > 0, got 1000000000"),
    (lambda t: t["inner"].__setitem__(0, [1.0, 2.0, 3.0]), "inner wall must be a list of [x, y] pairs, got points of"),
])
def test_fuzz_found_track_faults_end_in_one_line(oval, tmp_path, edit, message):
    edit(oval)
    path = tmp_path / "fuzzed.json"
    path.write_text(json.dumps(oval))
    with pytest.raises(InputError) as caught:
        load_track(path)
    assert message in str(caught.value)


def test_a_track_nested_too_deeply_is_one_line(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(InputError, match="not valid JSON"):
        load_track(path)
