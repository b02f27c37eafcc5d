"""CI must run the README's test command verbatim, and the README must name exactly two set-up commands."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands():
    text = (ROOT/"README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_readme_has_two_setup_commands():
    cmds = _setup_commands()
    assert len(cmds) == 2, cmds
    assert all("\n" not in c for c in cmds), "each set-up command is one line"


def test_ci_runs_readme_test_command():
    test_cmd = _setup_commands()[1].strip()
    ci = (ROOT/".ci"/"run").read_text().splitlines()
    assert test_cmd in [line.strip() for line in ci], f".ci/run must run the README's test command verbatim: {test_cmd!r}"
