import subprocess
import sys

import pytest

from trainlab._version import __version__
from trainlab.cli import build_parser, main

VERBS = [
    ["data", "inspect"], ["data", "cache"], ["data", "demo"], ["train"], ["predict"], ["evaluate"],
    ["compare"], ["summary"], ["runs"], ["export"], ["card"], ["audit"], ["mitigate"], ["sine"], ["fit-function"], ["demo"], ["report"],
]


@pytest.mark.parametrize("verb", VERBS, ids=[" ".join(v) for v in VERBS])
def test_every_verb_has_help(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*verb, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trainlab " + " ".join(verb))


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"trainlab {__version__}"


def test_console_script_runs_without_importing_torch():
    code = "import sys; from trainlab.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_bad_size_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["data", "cache", "x", "--size", "ten"])
    assert exc.value.code == 2
    assert "size 'ten' is not HxW" in capsys.readouterr().err


def test_no_verb_prints_help(capsys):
    assert main([]) == 2
    assert "usage: trainlab" in capsys.readouterr().out
