"""The CI workflows, checked offline: they cannot run on this project's machines.

- every file under .github/workflows/ is clean for actionlint (with ShellCheck on each ``run:``
  script) and valid against GitHub's workflow JSON Schema as vendored by check-jsonschema;
- the torch matrix of ci.yml lists exactly the torch envs of tox.ini, in order, with the same
  NumPy pin and CPU-build flag (tox.ini is parsed by tools/matrix.py's ``releases_from_tox``);
- every input of the reusable workflow has a row in docs/ci.md's table and every row an input;
- the callers in docs/ci.md lint clean against the real reusable workflow, and the shell recipe
  there is clean for ShellCheck.

Each helper returns the problems it found, and a second test runs it on a broken copy under
tmp_path (a dropped release, a changed NumPy pin, a syntax error, an unknown input ...) to show
that it reports them. The real files are never edited.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
CI = WORKFLOWS_DIR / "ci.yml"
REUSABLE = WORKFLOWS_DIR / "conformance.yml"
CI_DOC = ROOT / "docs" / "ci.md"
REMOTE_REF = "OWNER/autograd-conformance/.github/workflows/conformance.yml@REF"


# --- tools ----------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    """A command of the test extra: beside this Python first (a venv not on PATH), then on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' (it is in the test extra)")
    return found


def actionlint_problems(files: list[Path], cwd: Path) -> list[str]:
    """actionlint's findings, one line each (ShellCheck on; pyflakes off: no Python run: scripts)."""
    proc = subprocess.run([_tool("actionlint"), "-oneline", "-no-color", f"-shellcheck={_tool('shellcheck')}",
                           "-pyflakes=", *map(str, files)], capture_output=True, text=True, cwd=cwd)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    if proc.returncode != 0 and not lines:
        lines = [f"actionlint exited {proc.returncode}"]
    return lines if proc.returncode != 0 else []


def schema_problems(files: list[Path]) -> list[str]:
    """check-jsonschema against its vendored GitHub workflow schema (no network)."""
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *map(str, files)], capture_output=True, text=True)
    return [] if proc.returncode == 0 else (proc.stdout + proc.stderr).strip().splitlines()


def shellcheck_problems(script: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "recipe.sh"
    path.write_text(script, encoding="utf-8")
    proc = subprocess.run([_tool("shellcheck"), "-s", "bash", "-f", "gcc", str(path)], capture_output=True, text=True)
    syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    return (proc.stdout.strip().splitlines() if proc.returncode else []) + \
        (syntax.stderr.strip().splitlines() if syntax.returncode else [])


# --- the matrix against tox.ini ------------------------------------------------------------------------
def tox_releases(tox_ini: Path = ROOT / "tox.ini") -> list[dict]:
    """The torch envs of tox.ini, read by the parser tools/matrix.py runs the matrix with."""
    spec = importlib.util.spec_from_file_location("matrix_runner", ROOT / "tools" / "matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.releases_from_tox(tox_ini)


def _numpy_pin(release: dict) -> str:
    return next((r for r in release["requirements"] if re.match(r"numpy\b", r)), "")


def matrix_drift(workflow: dict, releases: list[dict]) -> list[str]:
    """How the torch and cuda matrices of ci.yml differ from tox.ini's torch envs (empty: none)."""
    problems: list[str] = []
    jobs = workflow.get("jobs") or {}
    rows = (((jobs.get("torch") or {}).get("strategy") or {}).get("matrix") or {}).get("include") or []
    by_env = {r["env"]: r for r in releases}
    listed = [row.get("tox-env") for row in rows]
    if listed != [r["env"] for r in releases]:
        missing = [r["env"] for r in releases if r["env"] not in listed]
        extra = [e for e in listed if e not in by_env]
        problems.append(f"jobs.torch matrix lists {listed}; tox.ini pins {[r['env'] for r in releases]}"
                        + (f" (missing {missing})" if missing else "") + (f" (not in tox.ini {extra})" if extra else ""))
    for row in rows:
        release = by_env.get(row.get("tox-env"))
        if release is None:
            continue
        if str(row.get("torch")) != release["label"]:
            problems.append(f"{row['tox-env']}: torch {row.get('torch')!r} in ci.yml, {release['label']!r} in tox.ini")
        if str(row.get("numpy", "")) != _numpy_pin(release):
            problems.append(f"{row['tox-env']}: numpy {row.get('numpy')!r} in ci.yml, {_numpy_pin(release)!r} in tox.ini")
        if bool(row.get("cpu-build")) != ("+cpu" in release["version"]):
            problems.append(f"{row['tox-env']}: cpu-build {row.get('cpu-build')!r} in ci.yml, but tox.ini pins "
                            f"torch=={release['version']}")
    cuda = (((jobs.get("cuda") or {}).get("strategy") or {}).get("matrix") or {}).get("include") or []
    for row in cuda:
        release = by_env.get(row.get("tox-env"))
        if release is None or str(row.get("torch")) != release["label"]:
            problems.append(f"jobs.cuda: {row} is not a torch env of tox.ini")
    return problems


def _steps(workflow: dict, job: str) -> list[dict]:
    return ((workflow.get("jobs") or {}).get(job) or {}).get("steps") or []


def torch_job_problems(workflow: dict, tox_text: str) -> list[str]:
    """The torch job caches pip per release and uploads the file tox.ini's command writes."""
    problems = []
    steps = _steps(workflow, "torch")
    keys = [(s.get("with") or {}).get("key", "") for s in steps if str(s.get("uses", "")).startswith("actions/cache@")]
    if not any("${{ matrix.torch }}" in k for k in keys):
        problems.append(f"jobs.torch: no actions/cache step keyed by ${{{{ matrix.torch }}}} (keys: {keys})")
    written = re.search(r"--conformance-results=\{toxinidir\}/(\S+)", tox_text)
    expected = written.group(1).replace("{env:TORCH_LABEL}", "${{ matrix.torch }}") if written else None
    uploaded = [(s.get("with") or {}).get("path") for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    if expected is None or uploaded != [expected]:
        problems.append(f"jobs.torch uploads {uploaded}; tox.ini writes {expected}")
    return problems


# --- the reusable workflow against docs/ci.md ------------------------------------------------------
def reusable_inputs(workflow: dict) -> set[str]:
    on = workflow.get("on", workflow.get(True))  # PyYAML reads the key `on` as True
    return set(((on or {}).get("workflow_call") or {}).get("inputs") or {})


def documented_inputs(doc: str) -> set[str]:
    """The first column of the inputs table (its header row is `| input | default | meaning |`)."""
    table = doc.split("| input | default | meaning |", 1)
    if len(table) < 2:
        return set()
    names = set()
    for line in table[1].splitlines()[1:]:
        if not line.startswith("|"):
            break
        match = re.match(r"\|\s*`([\w-]+)`\s*\|", line)
        if match:
            names.add(match.group(1))
    return names


def input_doc_problems(workflow: dict, doc: str) -> list[str]:
    inputs, documented = reusable_inputs(workflow), documented_inputs(doc)
    return ([f"input {name!r} is not in docs/ci.md's inputs table" for name in sorted(inputs - documented)]
            + [f"docs/ci.md documents {name!r}, which the reusable workflow has no input for"
               for name in sorted(documented - inputs)])


def doc_blocks(doc: str, lang: str) -> list[str]:
    """The fenced blocks of one language, also those indented inside a list item."""
    import textwrap

    return [textwrap.dedent(m.group(2)) for m in re.finditer(rf"(?m)^( *)```{lang}\n(.*?)^\1```", doc, re.S)]


def callers(doc: str) -> list[str]:
    return [b for b in doc_blocks(doc, "yaml") if REMOTE_REF in b]


def recipe(doc: str) -> str:
    [script] = [b for b in doc_blocks(doc, "bash") if b.startswith("#!/usr/bin/env bash")]
    return script


def caller_problems(caller: str, reusable_text: str, tmp_path: Path) -> list[str]:
    """Lint a documented caller against the real reusable workflow, as a local call in a scratch repo."""
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    # actionlint reads a local reusable workflow only inside a project: a directory with .git
    (tmp_path / "repo" / ".git").mkdir(exist_ok=True)
    (workflows / "conformance.yml").write_text(reusable_text, encoding="utf-8")
    path = workflows / "caller.yml"
    path.write_text(caller.replace(REMOTE_REF, "./.github/workflows/conformance.yml"), encoding="utf-8")
    return actionlint_problems([path], cwd=tmp_path / "repo") + schema_problems([path])


def _copy(tmp_path: Path, source: Path, text: str) -> Path:
    workflows = tmp_path / "repo" / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    path = workflows / source.name
    path.write_text(text, encoding="utf-8")
    return path


# --- the real files --------------------------------------------------------------------------------
def test_there_are_the_two_workflows():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "conformance.yml"}


def test_workflows_are_clean_for_actionlint():
    assert actionlint_problems(WORKFLOWS, cwd=ROOT) == []


def test_workflows_match_githubs_workflow_schema():
    assert schema_problems(WORKFLOWS) == []


def test_the_ci_matrix_is_exactly_tox_ini():
    releases = tox_releases()
    assert len(releases) >= 17
    assert matrix_drift(yaml.safe_load(CI.read_text(encoding="utf-8")), releases) == []


def test_the_torch_job_caches_per_release_and_uploads_what_tox_writes():
    workflow = yaml.safe_load(CI.read_text(encoding="utf-8"))
    assert torch_job_problems(workflow, (ROOT / "tox.ini").read_text(encoding="utf-8")) == []


def test_every_reusable_input_is_documented():
    workflow = yaml.safe_load(REUSABLE.read_text(encoding="utf-8"))
    assert len(reusable_inputs(workflow)) >= 5
    assert input_doc_problems(workflow, CI_DOC.read_text(encoding="utf-8")) == []


def test_the_documented_callers_lint_against_the_reusable_workflow(tmp_path):
    found = callers(CI_DOC.read_text(encoding="utf-8"))
    assert len(found) == 2
    for i, caller in enumerate(found):
        assert caller_problems(caller, REUSABLE.read_text(encoding="utf-8"), tmp_path / str(i)) == []


def test_the_readme_caller_lints_against_the_reusable_workflow(tmp_path):
    [caller] = callers((ROOT / "README.md").read_text(encoding="utf-8"))
    assert caller_problems(caller, REUSABLE.read_text(encoding="utf-8"), tmp_path) == []


def test_the_shell_recipe_is_clean_for_shellcheck(tmp_path):
    assert shellcheck_problems(recipe(CI_DOC.read_text(encoding="utf-8")), tmp_path) == []


# --- each check can fail -----------------------------------------------------------------------------
def test_actionlint_reports_an_undefined_job_and_a_syntax_error(tmp_path):
    text = CI.read_text(encoding="utf-8")
    broken = _copy(tmp_path, CI, text.replace("needs: [project-tests, testdevice, torch, cuda]",
                                              "needs: [project-tests, testdevice, torch, gpu]"))
    problems = actionlint_problems([broken], cwd=tmp_path / "repo")
    assert any('needs job "gpu" which does not exist' in p for p in problems), problems
    broken.write_text(text.replace("    runs-on: ubuntu-latest\n", "    runs-on: [ubuntu-latest\n", 1), encoding="utf-8")
    assert actionlint_problems([broken], cwd=tmp_path / "repo") != []
    assert schema_problems([broken]) != []


def test_actionlint_runs_shellcheck_on_run_scripts(tmp_path):
    broken = _copy(tmp_path, CI, CI.read_text(encoding="utf-8").replace(
        "run: python -m pip install tox", "run: python -m pip install $TOX_SPEC"))
    problems = actionlint_problems([broken], cwd=tmp_path / "repo")
    assert any("SC2086" in p for p in problems), problems


def test_the_schema_check_reports_an_unknown_job_key(tmp_path):
    broken = _copy(tmp_path, CI, CI.read_text(encoding="utf-8").replace(
        "    timeout-minutes: 60\n", "    timeout-minute: 60\n", 1))
    problems = schema_problems([broken])
    assert problems and any("timeout-minute" in p or "ci.yml" in p for p in problems), problems


def test_matrix_drift_reports_a_dropped_release_a_numpy_pin_and_a_cpu_build(tmp_path):
    text = CI.read_text(encoding="utf-8")
    releases = tox_releases()
    dropped = yaml.safe_load(text.replace('          - {tox-env: torch2150, torch: "2.15.0", numpy: ""}\n', ""))
    assert any("missing ['torch2150']" in p for p in matrix_drift(dropped, releases))
    numpy = yaml.safe_load(text.replace('{tox-env: torch222, torch: "2.2.2", numpy: "numpy<2"}',
                                        '{tox-env: torch222, torch: "2.2.2", numpy: ""}'))
    assert matrix_drift(numpy, releases) == ["torch222: numpy '' in ci.yml, 'numpy<2' in tox.ini"]
    cpu = yaml.safe_load(text.replace(", cpu-build: true}", "}"))
    assert any(p.startswith("torch2130: cpu-build") for p in matrix_drift(cpu, releases))
    label = yaml.safe_load(text.replace('{tox-env: torch291, torch: "2.9.1"', '{tox-env: torch291, torch: "2.9.0"'))
    assert any("torch291: torch '2.9.0'" in p for p in matrix_drift(label, releases))
    cuda = yaml.safe_load(text.replace('- {tox-env: torch2150, torch: "2.15.0"}\n', '- {tox-env: torch2160, torch: "2.16.0"}\n'))
    assert any(p.startswith("jobs.cuda:") for p in matrix_drift(cuda, releases))


def test_matrix_drift_reports_a_release_added_to_tox_ini(tmp_path):
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    copy = tmp_path / "tox.ini"
    copy.write_text(tox.replace("torch2150, report", "torch2150, torch2160, report", 1)
                    .replace("    torch2150: torch==2.15.0\n", "    torch2150: torch==2.15.0\n    torch2160: torch==2.16.0\n", 1),
                    encoding="utf-8")
    problems = matrix_drift(yaml.safe_load(CI.read_text(encoding="utf-8")), tox_releases(copy))
    assert any("missing ['torch2160']" in p for p in problems), problems


def test_torch_job_check_reports_a_shared_cache_key_and_a_moved_results_file():
    text = CI.read_text(encoding="utf-8")
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    shared = yaml.safe_load(text.replace("-torch${{ matrix.torch }}-", "-torch-"))
    assert any("no actions/cache step keyed" in p for p in torch_job_problems(shared, tox))
    moved = tox.replace("{toxinidir}/results/torch-{env:TORCH_LABEL}.json", "{toxinidir}/out/torch-{env:TORCH_LABEL}.json")
    assert torch_job_problems(yaml.safe_load(text), moved) == [
        "jobs.torch uploads ['results/torch-${{ matrix.torch }}.json']; tox.ini writes out/torch-${{ matrix.torch }}.json"]


def test_input_doc_check_reports_an_undocumented_input_and_a_stale_row():
    workflow = yaml.safe_load(REUSABLE.read_text(encoding="utf-8"))
    doc = CI_DOC.read_text(encoding="utf-8")
    without_row = "\n".join(line for line in doc.splitlines() if not line.startswith("| `claim-dirs` |"))
    assert input_doc_problems(workflow, without_row) == ["input 'claim-dirs' is not in docs/ci.md's inputs table"]
    on = workflow.get("on", workflow.get(True))
    on["workflow_call"]["inputs"].pop("devices")
    assert input_doc_problems(workflow, doc) == [
        "docs/ci.md documents 'devices', which the reusable workflow has no input for"]


def test_caller_check_reports_a_misspelt_input(tmp_path):
    caller = callers(CI_DOC.read_text(encoding="utf-8"))[0].replace("torch-releases:", "torch-release:")
    problems = caller_problems(caller, REUSABLE.read_text(encoding="utf-8"), tmp_path)
    assert any("torch-release" in p for p in problems), problems


def test_shellcheck_reports_an_unquoted_expansion_in_the_recipe(tmp_path):
    script = recipe(CI_DOC.read_text(encoding="utf-8")).replace('"torch==$release"', 'torch==$release')
    assert any("SC2086" in p for p in shellcheck_problems(script, tmp_path))
    assert any("syntax error" in p for p in shellcheck_problems(script.replace("done\n", "", 1), tmp_path))
