"""Every measured number quoted in README.md, benchmarks/README.md and the docs pages, beside the check that
produces it.

    python benchmarks/quoted_numbers.py            # list: page:line, the number, [its entry's index], its check
                                                   # and command
    python benchmarks/quoted_numbers.py --check    # only the problems; exit 1 if there is one
    python benchmarks/quoted_numbers.py --orphans  # only the numbers no entry covers
    python benchmarks/quoted_numbers.py --rerun [--page P] [--entry N] [--max-seconds S]
                                                   # run the entries' commands, compare their output

What counts as a quoted number (the rule; everything else on a page is left alone):

- in the pages the registry names (``pages:``), text outside fenced code blocks, inline code, link targets,
  HTML comments and ``$...$`` maths;
- a number with a percent sign (``97.8%``, ``100 %``), a ratio (``43x``, ``0.21-0.30x``), a unit of time,
  rate, size or speed (``14.4 s``, ``5.7e5 car-steps/s``, ``2.4 kB``, ``9.1 m/s``), a decimal point
  (``0.055``) or an exponent (``2e-4``);
- in a table, also every body cell that is a bare number (``102``), since result tables hold counts;
- except a number right after ``=``, ``<`` or ``>`` (a setting or a threshold: ``lr = 0.02``, ``loss < 0.05``)
  and the phrases under ``ignore:`` in the registry (versions, the theory a measurement is compared with),
  each of which must still be on a page.

The registry, ``docs/numbers.yaml``, is a list of entries; each covers the quoted numbers of one place:

    - page: docs/approx.md                 # README.md or docs/NAME.md
      section: Studies                     # every number under this heading (to the next one as high), or
      phrase: "L-BFGS for 20/20"           # every number of the paragraph, list item or table holding it
      numbers: ["5.7", "16"]               # optional: only these numbers of the place
      command: annrl approx sin --study smoothness --optimizer lbfgs --seeds 5 --epochs 3000
      check: tests/test_quoted_numbers.py::test_smoothness_study_as_documented  # or benchmarks/NAME.py, a list
      unless: ["**Tests**"]                # optional: not the blocks holding these phrases (another entry's)
      rerun: [annrl approx sin --study smoothness --optimizer lbfgs --seeds 5 --epochs 3000]  # optional
      timing: ["wall time"]                # optional: --rerun reports these as timings

``check`` names what produces the numbers: a test (``tests/FILE.py::NAME``, or ``::CLASS::NAME``, the
function must exist), a benchmark script (``benchmarks/FILE.py``, which must exist; ``benchmarks/
quoted_numbers.py --rerun``: the rerun below reproduces every number of the entry that is not a timing),
or ``command``: the entry's own ``annrl`` command prints the numbers and nothing compares them (listed
as such, so that they stay visible). Exit status 1 when a number is orphaned (no entry covers it), an entry's place is
not on its page or covers no number, or a check does not exist.

``--rerun`` turns every entry's command into a benchmark-style check. It runs the entry's ``rerun``
commands (a string or a list; by default its ``command`` when that has no placeholder such as ``NAME``,
``[...]`` or ``a|b``) in a temporary folder, with ``annrl`` and ``python`` resolving to this checkout and a
timeout of ``--max-seconds`` per command. A quoted number is reproduced when a number of the commands'
stdout, or a value of a ``metrics.json`` they write, rounds to it and is printed at least as finely
(``97.0%`` matches 0.9703 and 97.04, ``3.3x`` matches 3.27, ``0.00375`` does not match a printed 0.0038),
or equals it (``0.500`` matches 0.5); a percentage also matches a fraction, each end of a range must
match. Numbers the entry lists under ``timing`` (a number as quoted or a table column's header; ``true``
for all) are reported as timings, never as failures: wall times and rates depend on the machine. Exit
status 1 when a number that is not a timing is not reproduced or a command fails.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "docs" / "numbers.yaml"
UNITS = (r"(?:ms|s|min|h|µs|us|ns|[kMG]?B|[KMGT]iB|kB|m/s|m|Hz|[\w-]*/s|fps|W|degrees|px)")
NUM = r"\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?"
RANGE = rf"{NUM}(?:\s?(?:-|–|to)\s?{NUM})?"
QUOTED = re.compile(
    rf"(?<![\w.=/#-])(?:{RANGE}\s?(?:%|x\b(?!\s?\d)|{UNITS}\b)|\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+)(?![\w.]*\d)")
SETTING = re.compile(rf"(?:=|<=|>=|<|>)\s*{NUM}")  # a setting or a threshold, not a measurement
BARE = re.compile(rf"^\*{{0,2}}[~<>≈]?\s?{RANGE}\s?(?:%|x|{UNITS})?\*{{0,2}}$")
PLACEHOLDER = re.compile(r"\b[A-Z]+\b(?!=)|[\[|(]")  # "annrl logic GATE", "[--continuous]", "car-es|car-ga"
HIDDEN = [re.compile(p) for p in (r"`[^`]*`", r"\]\([^)]*\)", r"<!--.*?-->", r"\$[^$]+\$", r"</?[A-Za-z][^>]*>",
                                  r"https?://\S+")]


@dataclass
class Block:
    """A paragraph, list item, heading or table of a page, with the quoted numbers it holds."""

    page: str
    line: int
    section: list[str]
    text: str
    numbers: list[tuple[int, str]] = field(default_factory=list)  # (line, number)


@dataclass
class Entry:
    """One registry entry: the place it covers, its command and its checks."""

    page: str
    place: str
    numbers: list[str] | None
    command: str
    checks: list[str]
    index: int
    rerun: list[str] = field(default_factory=list)
    timing: list[str] | bool = False
    unless: list[str] = field(default_factory=list)  # phrases of blocks the entry leaves to another


def _visible(line: str) -> str:
    """The line without inline code, link targets, HTML, maths and URLs (replaced by spaces)."""
    for pattern in HIDDEN:
        line = pattern.sub(lambda m: " " * len(m.group(0)), line)
    return line


def _numbers(line: str, in_table: bool, ignore: list[str]) -> list[str]:
    """The quoted numbers of one visible line, by the module's rule."""
    for phrase in ignore:
        line = line.replace(phrase, " " * len(phrase))
    line = SETTING.sub(lambda m: " " * len(m.group(0)), line)
    found = [m.group(0).strip() for m in QUOTED.finditer(line)]
    if in_table and not re.match(r"^\s*\|[\s:|-]+\|\s*$", line):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found += [c.strip("*") for c in cells[1:] if BARE.match(c) and c.strip("*") not in found]
    return found


def parse_page(path: Path, ignore: list[str]) -> list[Block]:
    """Split a Markdown page into blocks (skipping code fences) and find each block's quoted numbers.

    Parameters
    ----------
    path : Path
        The page.
    ignore : list of str
        Phrases whose numbers are not measurements.

    Returns
    -------
    list of Block
        In page order; a table's header row is its first line and is not scanned for bare cells.
    """
    page = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    blocks: list[Block] = []
    section: list[str] = []
    fence, current, header = None, None, False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if fence is not None:
            fence = None if stripped.startswith(fence) else fence
            continue
        if stripped.startswith(("```", "~~~")):
            fence, current = stripped[:3], None
            continue
        if not stripped or stripped.startswith(("![", "--8<--")):
            current = None
            continue
        heading = re.match(r"^(#+)\s+(.*)$", stripped)
        is_table = stripped.startswith("|")
        starts = heading or current is None or re.match(r"^([-*]|\d+\.)\s", stripped) or (
            is_table != current.text.lstrip().startswith("|"))
        if heading:
            level = len(heading.group(1))
            section = section[:level - 1] + [""] * (level - 1 - len(section)) + [heading.group(2).strip()]
        if starts:
            current = Block(page, number, list(section), "")
            blocks.append(current)
            header = is_table
        current.text += raw + "\n"
        body_row = is_table and not header
        header = False
        visible = re.sub(r"^#+\s+[\d.]+\s", "", _visible(raw)) if heading else _visible(raw)  # "### 1.2 Smoothing"
        current.numbers += [(number, n) for n in _numbers(visible, body_row, ignore)]
        if heading:
            current = None
    return blocks


def load_registry(path: Path = REGISTRY) -> tuple[list[Entry], list[str], list[str]]:
    """Read the registry: its entries, its ignored phrases and the pages it scans."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = []
    for i, raw in enumerate(data["entries"]):
        checks = raw["check"] if isinstance(raw["check"], list) else [raw["check"]]
        place = raw.get("section") or raw.get("phrase")
        command = raw.get("command", "")
        runnable = not PLACEHOLDER.search(command) and "pytest" not in command  # a test run prints no figures
        rerun = raw.get("rerun", [c for c in command.split(";") if c] if runnable else [])
        rerun = [rerun] if isinstance(rerun, str) else rerun
        if not all(isinstance(c, str) for c in rerun):  # an unquoted "--delays 10,20,40" splits in YAML's [...]
            raise ValueError(f"{path.name} entry {i}: rerun must be a list of strings (quote a command that "
                             f"holds a comma), got {rerun!r}")
        timing = raw.get("timing", False)
        entries.append(Entry(raw["page"], ("section:" if "section" in raw else "phrase:") + str(place),
                             [str(n) for n in raw["numbers"]] if "numbers" in raw else None,
                             command, [str(c) for c in checks], i,
                             [c.strip() for c in rerun],
                             timing if isinstance(timing, bool) else [str(t) for t in timing],
                             [str(u) for u in raw.get("unless", [])]))
    return entries, [str(p) for p in data.get("ignore", [])], data["pages"]


def check_exists(check: str, command: str) -> str | None:
    """Why a check does not exist, or None when it does (a test function, a benchmark script, a command)."""
    if check == "command":
        return None if command.startswith(("annrl ", "python ")) else "check 'command' needs an annrl command"
    file, _, name = check.partition("::")
    path = ROOT / file.split()[0]
    if not path.is_file() or not file.startswith(("tests/", "benchmarks/")):
        return f"no file {file.split()[0]} under tests/ or benchmarks/"
    if not name:
        return None if file.startswith("benchmarks/") else f"{check}: name the test function"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope: list[ast.stmt] = tree.body
    for part in name.split("[")[0].split("::"):
        found = [n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part]
        if not found:
            return f"{check}: no {part} in {file}"
        scope = found[0].body
    return None


def _covers(entry: Entry, block: Block) -> bool:
    kind, _, place = entry.place.partition(":")
    text = block.text.replace("\n", " ")
    if entry.page != block.page or any(phrase in text for phrase in entry.unless):
        return False
    return place in block.section if kind == "section" else place in text


def audit(registry: Path = REGISTRY) -> tuple[list[tuple[Block, int, str, list[Entry]]], list[str]]:
    """Match every quoted number of the registry's pages to the entries that cover it.

    Returns
    -------
    rows : list of (Block, line, number, entries)
        One per quoted number, in page order; ``entries`` empty for an orphan.
    problems : list of str
        One line per orphan, entry covering nothing, check that does not exist, or ignored phrase on no page.
    """
    entries, ignore, pages = load_registry(registry)
    paths = [p for page in pages for p in sorted(ROOT.glob(page))]
    blocks = [b for p in paths for b in parse_page(p, ignore)]
    rows, used = [], set()
    for block in blocks:
        for line, number in block.numbers:
            covering = [e for e in entries if _covers(e, block) and (e.numbers is None or number in e.numbers)]
            used.update(e.index for e in covering)
            rows.append((block, line, number, covering))
    problems = [f"{b.page}:{line}: {n!r} is orphaned (no entry in docs/numbers.yaml covers it)"
                for b, line, n, covering in rows if not covering]
    text = "".join(p.read_text(encoding="utf-8") for p in paths)
    problems += [f"docs/numbers.yaml: ignored phrase {phrase!r} is on no page"
                 for phrase in ignore if phrase not in text]
    for e in entries:
        if e.index not in used:
            problems.append(f"docs/numbers.yaml entry {e.index} ({e.page}, {e.place}) covers no quoted number")
        problems += [f"docs/numbers.yaml entry {e.index} ({e.page}, {e.place}): {why}"
                     for why in (check_exists(c, e.command) for c in e.checks) if why]
        if any("--rerun" in c for c in e.checks) and not e.rerun:
            problems.append(f"docs/numbers.yaml entry {e.index} ({e.page}, {e.place}): check --rerun needs a "
                            f"runnable command (rerun: or a command with no placeholder), got {e.command!r}")
    return rows, problems


# ---------------------------------------------------------------------------------------------- --rerun
PRINTED = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _value(token: str) -> tuple[float, float]:
    """A printed or quoted number and half a unit of its last digit: ``"0.0375"`` -> (0.0375, 5e-05)."""
    mantissa, _, exponent = token.replace(",", "").lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    scale = 10.0 ** int(exponent or 0)
    return float(mantissa) * scale, 0.5 * 10.0 ** -decimals * scale


def printed_values(text: str) -> list[tuple[float, float]]:
    """Every number of a command's output, each with its rounding; ``1,024`` counts as 1024 and as 1, 24."""
    values = []
    for token in PRINTED.findall(text):
        values.append(_value(token))
        if "," in token:
            values += [_value(part) for part in token.split(",")]
    return values


def json_values(data: object) -> list[tuple[float, float]]:
    """Every number of a parsed ``metrics.json`` (exact, so with no rounding of its own)."""
    if isinstance(data, dict):
        return [v for item in data.values() for v in json_values(item)]
    if isinstance(data, list):
        return [v for item in data for v in json_values(item)]
    is_number = isinstance(data, (int, float)) and not isinstance(data, bool)
    return [(abs(float(data)), 0.0)] if is_number else []


def _rounds_to(value: float, its_half: float, target: float, half: float) -> bool:
    """Whether a printed value gives the quoted one: it rounds to it and is printed at least as finely,
    or it equals it (``0.5`` for a quoted ``0.500``: trailing zeros are not printed)."""
    slack = 1e-9 * abs(target)
    return abs(value - target) <= slack or (its_half <= half + slack and abs(value - target) <= half + slack)


def reproduced(quoted: str, values: list[tuple[float, float]]) -> list[float] | None:
    """The output values that round to each end of a quoted number, or None when one end has none.

    Parameters
    ----------
    quoted : str
        As the page writes it: ``"97.0%"``, ``"3.3x"``, ``"0.21-0.30x"``, ``"5.7e5 car-steps/s"``.
    values : list of (float, float)
        The output's numbers with half a unit of their last printed digit (0 for exact values).

    Returns
    -------
    list of float or None
        One matching value per end of the quoted number (as printed; a fraction for a percentage).
    """
    percent = "%" in quoted
    ends = re.findall(NUM, re.sub(rf"(?<=\d)\s?(?:-|–|to)\s?(?={NUM})", " ", quoted))
    found = []
    for end in ends:
        target, half = _value(end)
        scales = (1.0, 100.0) if percent else (1.0,)
        match = next((v for v, h in values for k in scales if _rounds_to(v * k, h * k, target, half)), None)
        if match is None:
            return None
        found.append(match)
    return found


def _column(block: Block, line: int, number: str) -> str:
    """The header of the table column holding a number ("" outside a table)."""
    rows = block.text.splitlines()
    if not rows[0].lstrip().startswith("|") or line == block.line:
        return ""
    header = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    cells = [c.strip() for c in rows[line - block.line].strip().strip("|").split("|")]
    where = [i for i, c in enumerate(cells) if number in c]
    return header[where[0]] if where and where[0] < len(header) else ""


def run_command(command: str, seconds: float) -> tuple[str, list[tuple[float, float]], str]:
    """Run one command in a fresh temporary folder, ``annrl`` and ``python`` being this checkout's.

    Returns
    -------
    stdout : str
    values : list of (float, float)
        The numbers of stdout and of every ``metrics.json`` the command wrote.
    status : str
        ``"ok"``, ``"exit N"`` or ``"timed out after S s"``.
    """
    with tempfile.TemporaryDirectory(prefix="annrl-rerun-") as tmp:
        work, bin_dir = Path(tmp), Path(tmp) / ".bin"
        bin_dir.mkdir()
        for name, run in (("python", ""), ("annrl", " -m annrl.cli")):  # not a link: a venv's python finds
            (bin_dir / name).write_text(f'#!/bin/sh\nexec "{sys.executable}"{run} "$@"\n')  # its packages by path
            (bin_dir / name).chmod(0o755)
        for folder in ("benchmarks", "tests"):  # "python benchmarks/adapt.py" as from the repository's root
            (work / folder).symlink_to(ROOT / folder)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", MPLBACKEND="Agg",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
        proc = subprocess.Popen(["bash", "-c", command], cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
        try:
            stdout, _ = proc.communicate(timeout=seconds)
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the command's whole process group, which this call started
            stdout, _ = proc.communicate()
            status = f"timed out after {seconds:g} s"
        values = printed_values(stdout)
        for path in work.rglob("metrics.json"):
            try:
                values += json_values(json.loads(path.read_text(encoding="utf-8")))
            except ValueError:  # cut short by the timeout: its numbers are not evidence
                status += f", unreadable {path.relative_to(work)}"
    return stdout, values, status


def rerun(rows: list, entries: list[Entry], seconds: float) -> int:
    """Run each entry's commands and print, per number it covers, reproduced / NOT reproduced / timing.

    Returns
    -------
    int
        How many numbers that are not timings failed (not reproduced, or their command failed).
    """
    failures, totals = 0, {"reproduced": 0, "NOT reproduced": 0, "timing": 0}
    ran: dict[str, tuple[str, list[tuple[float, float]], str]] = {}  # entries sharing a command run it once
    for entry in entries:
        numbers = [(b, line, n) for b, line, n, covering in rows if entry in covering]
        if not entry.rerun:
            print(f"entry {entry.index} ({entry.page}, {entry.place}): no runnable command ({entry.command!r})")
            continue
        values, statuses, start = [], [], time.perf_counter()
        for command in entry.rerun:
            if command not in ran:
                ran[command] = run_command(command, seconds)
            _, found, status = ran[command]
            values += found
            statuses.append(status)
        failed = [s for s in statuses if s != "ok"]
        print(f"entry {entry.index} ({entry.page}, {entry.place}): {'; '.join(entry.rerun)}"
              f" [{time.perf_counter() - start:.0f} s{', ' + ', '.join(failed) if failed else ''}]")
        for block, line, number in numbers:
            timing = entry.timing is True or (entry.timing and (
                number in entry.timing or _column(block, line, number) in entry.timing))
            match = reproduced(number, values)
            verdict = "timing" if timing else "reproduced" if match else "NOT reproduced"
            totals[verdict] += 1
            failures += verdict == "NOT reproduced"
            shown = ", ".join(f"{v:.6g}" for v in match) if match else "-"
            print(f"  {block.page}:{line}\t{number}\t{verdict}\t{shown}", flush=True)
        failures += bool(failed)
    print(", ".join(f"{n} {k}" for k, n in totals.items()), file=sys.stderr)
    return failures


def main(argv: list[str] | None = None) -> int:
    """List the quoted numbers with their entries' indices and checks, only the problems (``--check``,
    ``--orphans``), or rerun the entries' commands (``--rerun``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print only the problems")
    parser.add_argument("--orphans", action="store_true", help="print only the numbers no entry covers")
    parser.add_argument("--registry", type=Path, default=REGISTRY, help="the registry (docs/numbers.yaml)")
    parser.add_argument("--rerun", action="store_true", help="run the entries' commands and compare the numbers")
    parser.add_argument("--page", help="--rerun: only this page's entries (docs/adapt.md)")
    parser.add_argument("--entry", type=int, action="append", help="--rerun: only entry N (repeatable)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="--rerun: timeout per command")
    args = parser.parse_args(argv)
    rows, problems = audit(args.registry)
    if args.rerun:
        entries = [e for e in load_registry(args.registry)[0] if (args.page in (None, e.page))
                   and (args.entry is None or e.index in args.entry)]
        return 1 if rerun(rows, entries, args.max_seconds) else 0
    if not (args.check or args.orphans):
        for block, line, number, covering in rows:
            where = " | ".join(f"[{e.index}] {', '.join(e.checks)}" + (f" ({e.command})" if e.command else "")
                               for e in covering) or "ORPHAN"
            print(f"{block.page}:{line}\t{number}\t{where}")
    for problem in problems if not args.orphans else [p for p in problems if "orphaned" in p]:
        print(problem)
    covered = sum(1 for *_, c in rows if c)
    command_only = sum(1 for *_, c in rows if any("command" in e.checks for e in c))
    print(f"{len(rows)} quoted numbers, {covered} covered, {command_only} backed by their command only (check: "
          f"command), {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
