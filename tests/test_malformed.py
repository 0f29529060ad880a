"""The malformed corpus: every broken spec file gives exactly one located, one-line message.

Each file in ``tests/malformed/`` has exactly one problem and starts with the comment
``# expect: MESSAGE``: the exact line the plugin prints for it, ``FILE:LINE: KEY: MESSAGE``, with
FILE as the plugin shows it (relative to the rootdir: ``specs/NAME.yaml``). ``{seeds}`` and
``{torch}`` in a message stand for the seed articles' directory and the installed torch version.
A few files are made at run time instead of committed: an empty file, a file over the size
limit and a file that is not UTF-8.

Checked twice: through the Python API (load, validate, compile: one message, exactly the
expected one) and in one pytest run where all of them sit beside a good spec: each broken file
is one ERROR item whose text is its message, and the good claim still passes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance import loading
from helpers import SEEDS, TORCH, compile_path, error_lines, run_specs, spec_yaml
from conformance.errors import SpecError, SpecErrors

CORPUS = Path(__file__).with_name("malformed")
FILES = sorted(CORPUS.glob("*.yaml"))
HEADER = "# expect: "

# name -> (bytes, expected message): files that are better made than committed.
GENERATED = {
    "empty_file": (b"", "specs/empty_file.yaml:1: the file is empty; a spec file needs 'topic:' and 'claims:'"),
    "huge_file": (
        ("# expect: nothing, the file is too big\n" + spec_yaml() + "# padding\n" * 120_000).encode(),
        f"specs/huge_file.yaml: file is larger than {loading.MAX_BYTES} bytes; split it into several spec files",
    ),
    "not_utf8": (
        b"topic: detach\nclaims:\n  - id: caf\xe9\n",
        "specs/not_utf8.yaml:3: the file is not UTF-8 text (byte 33)",
    ),
}


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first.startswith(HEADER), f"{path.name} must start with '{HEADER}<message>'"
    return first[len(HEADER):].replace("{seeds}", str(SEEDS)).replace("{torch}", str(TORCH))


def shown(path: Path) -> str:
    return f"specs/{path.name}"


def messages(path: Path) -> list[str]:
    try:
        compile_path(path, shown(path))
    except (SpecError, SpecErrors) as exc:
        return error_lines(exc)
    return []


def test_the_corpus_is_large_enough_and_every_file_declares_its_message():
    assert len(FILES) + len(GENERATED) >= 50
    for path in FILES:
        assert expected_message(path).startswith(shown(path) + ":")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_file_gives_exactly_its_message(path: Path):
    assert messages(path) == [expected_message(path)]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_each_generated_file_gives_exactly_its_message(tmp_path: Path, name: str):
    data, expected = GENERATED[name]
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    assert messages(path) == [expected]


def test_all_together_one_error_item_each_and_the_good_claim_still_passes(pytester: pytest.Pytester):
    specs = pytester.path / "specs"
    specs.mkdir()
    for path in FILES:
        shutil.copyfile(path, specs / path.name)
    for name, (data, _) in GENERATED.items():
        (specs / f"{name}.yaml").write_bytes(data)
    (specs / "good.yaml").write_text(spec_yaml(), encoding="utf-8")

    result = run_specs(pytester, seeds=True)
    reports = [r for r in result.reprec.getreports("pytest_runtest_logreport")]

    expected = {f"specs/{p.name}::spec-error": expected_message(p) for p in FILES}
    expected.update({f"specs/{name}.yaml::spec-error": msg for name, (_, msg) in GENERATED.items()})
    errors = {}
    for rep in reports:
        if rep.nodeid.endswith("::spec-error") and rep.when == "setup":
            assert rep.failed, rep.nodeid
            assert rep.nodeid not in errors, f"two error items for {rep.nodeid}"
            errors[rep.nodeid] = rep.longreprtext.strip()
    assert errors == expected

    good = [r for r in reports if r.nodeid == "specs/good.yaml::detach-no-grad[cpu]" and r.when == "call"]
    assert len(good) == 1 and good[0].passed
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"spec files with errors: {len(expected)}"])
