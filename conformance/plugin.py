"""The pytest layer: collect spec files, expand claims per device, run them, report in spec terms.

Note [Plugin shape]
This module only wires pytest to plain modules; the journey of a spec is
``loading`` (YAML + positions) -> ``schema`` (validate) -> ``compiling`` (expressions, versions)
-> ``devices`` (slots) -> ``running`` (Hypothesis) -> ``failures``/``results`` (report).
A spec file that cannot be loaded becomes one item that errors with the located message, so
the rest of the suite still runs (a collection error would stop the session).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import catalog, devices, profiles
from .errors import SpecError, SpecErrors
from .running import RunStats, SpecRuntimeError, VerdictMismatch, run_claim
from .assertions import ClaimFailure
from .schema import TOPICS, VERDICTS

SEEDS_ENV = "CONFORMANCE_SEEDS"


@dataclass
class Context:
    profile: profiles.RunProfile
    devices: tuple[str, ...]
    version: object
    seeds_dir: Path | None
    spec_roots: list[Path]
    seed_explicit: bool
    outcomes: list = field(default_factory=list)


CONTEXT = pytest.StashKey[Context]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "autograd conformance suite")
    group.addoption("--conformance-devices", default=None,
                    help="comma-separated torch device types to run claims on (default: cpu,cuda; "
                         "env CONFORMANCE_DEVICES). Absent devices are reported as skipped.")
    group.addoption("--conformance-profile", default=None, choices=sorted(profiles.PROFILES),
                    help="Hypothesis profile: ci (derandomized), dev, deep (default: ci when CI is set, else dev)")
    group.addoption("--conformance-seed", type=int, default=None,
                    help="base seed for Hypothesis; printed in the header of every run")
    group.addoption("--conformance-specs", action="append", default=[],
                    help="an extra directory of spec files to collect (repeatable)")
    group.addoption("--conformance-results", default=None, metavar="PATH",
                    help="write a JSON results file (one per run, merged from xdist workers)")
    group.addoption("--conformance-known-failures", default=None, metavar="FILE",
                    help="file of claim ids expected to fail on this build, one per line: ID[ DEVICE] # reason")
    group.addoption("--conformance-mutant", default=None, metavar="NAME",
                    help="apply a built-in mutant of torch inside this process (env CONFORMANCE_MUTANT); "
                         "see python -m conformance mutants")
    group.addoption("--conformance-seeds-dir", default=None,
                    help="directory of the seed articles, to check quotes verbatim "
                         "(default: env CONFORMANCE_SEEDS, else ../shared/seeds beside the rootdir if present)")


def _seeds_dir(config: pytest.Config) -> Path | None:
    text = config.getoption("--conformance-seeds-dir") or os.environ.get(SEEDS_ENV)
    if text:
        return Path(text).resolve()
    guess = Path(config.rootpath).parent / "shared" / "seeds"
    return guess.resolve() if guess.is_dir() else None


def pytest_configure(config: pytest.Config) -> None:
    from .versions import installed_torch_version

    for name in TOPICS:
        config.addinivalue_line("markers", f"{name}: conformance claims about topic {name}")
    for name in VERDICTS:
        config.addinivalue_line("markers", f"{name}: conformance claims whose verdict is {name}")
    config.addinivalue_line("markers", "conformance: every conformance claim item")
    wanted = devices.requested(config.getoption("--conformance-devices"))
    for name in wanted:
        config.addinivalue_line("markers", f"{name}: conformance items that run on device {name}")
    seed = config.getoption("--conformance-seed")
    try:
        profile = profiles.choose(config.getoption("--conformance-profile"), seed)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    extra = [Path(p).resolve() for p in config.getoption("--conformance-specs")]
    for directory in extra:
        if not directory.is_dir():
            raise pytest.UsageError(f"--conformance-specs: {directory} is not a directory")
        if str(directory) not in config.args:
            config.args.append(str(directory))
    mutant = config.getoption("--conformance-mutant") or os.environ.get("CONFORMANCE_MUTANT")
    if mutant:
        from . import mutants

        try:
            mutants.apply(mutant)
        except KeyError as exc:
            raise pytest.UsageError(str(exc.args[0])) from None
    results_path = config.getoption("--conformance-results")
    if results_path and not hasattr(config, "workerinput"):  # the xdist controller (or a plain run) writes it
        from .results import ResultsRecorder

        config.pluginmanager.register(ResultsRecorder(config, Path(results_path)), "conformance-results")
    known = config.getoption("--conformance-known-failures")
    if known:
        from .knownfail import KnownFailures

        try:
            config.pluginmanager.register(KnownFailures.from_file(Path(known)), "conformance-known-failures")
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[CONTEXT] = Context(
        profile=profile, devices=wanted, version=installed_torch_version(), seeds_dir=_seeds_dir(config),
        spec_roots=[Path(config.rootpath) / "specs", *extra], seed_explicit=seed is not None)


def pytest_report_header(config: pytest.Config) -> list[str]:
    import torch

    ctx = config.stash[CONTEXT]
    present = [d for d in ctx.devices if devices.unavailable_reason(d) is None]
    absent = [d for d in ctx.devices if d not in present]
    lines = [f"conformance: torch {torch.__version__}; devices run: {', '.join(present)}"
             + (f"; not run: {', '.join(absent)} (absent)" if absent else ""),
             f"conformance: hypothesis profile {ctx.profile.name}, seed {ctx.profile.base_seed} "
             f"(rerun with --conformance-profile={ctx.profile.name} --conformance-seed={ctx.profile.base_seed})"]
    if ctx.seeds_dir is None:
        lines.append("conformance: seed articles not found; quotes are not checked (--conformance-seeds-dir)")
    return lines


def _is_spec(path: Path, ctx: Context) -> bool:
    if path.suffix not in (".yaml", ".yml"):
        return False
    resolved = path.resolve()
    return any(root in resolved.parents for root in ctx.spec_roots) or "specs" in resolved.parts[:-1]


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    ctx = parent.config.stash[CONTEXT]
    if _is_spec(file_path, ctx):
        return SpecFileNode.from_parent(parent, path=file_path)
    return None


class SpecFileNode(pytest.File):
    def collect(self):
        ctx = self.config.stash[CONTEXT]
        shown = _display(self.path, self.config)
        try:
            claims = catalog.load_claims(self.path, shown, ctx.version, ctx.seeds_dir)
        except (SpecError, SpecErrors) as exc:
            yield SpecErrorItem.from_parent(self, name="spec-error", message=str(exc))
            return
        for claim in claims:
            for slot in devices.slots(claim.claim.devices, ctx.devices):
                yield ClaimItem.from_parent(self, name=f"{claim.id}[{slot.label}]", claim=claim, slot=slot)


def _display(path: Path, config: pytest.Config) -> str:
    try:
        return str(path.relative_to(config.rootpath))
    except ValueError:
        return str(path)


class SpecErrorItem(pytest.Item):
    """Stands for a spec file that could not be loaded; errors with the located message."""

    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def setup(self) -> None:
        pytest.fail(self.message, pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always fails
        pass

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}: spec error"


class ClaimItem(pytest.Item):
    def __init__(self, *, claim, slot, **kwargs):
        super().__init__(**kwargs)
        self.claim, self.slot = claim, slot
        self.stats = RunStats()
        self.duplicate_of: str | None = None
        self.snippet: str | None = None
        c = claim.claim
        self.user_properties.extend([
            ("claim_id", c.id), ("device", slot.label), ("topic", claim.topic), ("verdict", c.verdict),
            ("spec_file", claim.file), ("spec_line", claim.line),
            ("statement", c.statement), ("refinement", c.refinement),
            ("sources", [{"seed": s.seed, "quote": s.quote} for s in c.sources]),
        ])
        for marker in ("conformance", claim.topic, claim.claim.verdict, *_device_names(slot)):
            self.add_marker(marker)

    @property
    def claim_key(self) -> str:
        return f"{self.claim.id}[{self.slot.label}]"

    def setup(self) -> None:
        if self.duplicate_of:
            pytest.fail(f"{self.claim.file}:{self.claim.line}: id: duplicate claim id {self.claim.id!r} "
                        f"(also defined at {self.duplicate_of})", pytrace=False)
        if self.slot.skip_reason:
            pytest.skip(f"not run on {self.slot.label}: {self.slot.skip_reason}")

    def runtest(self) -> None:
        ctx = self.config.stash[CONTEXT]
        run_claim(self.claim, self.slot, ctx.profile, self.stats)

    def repr_failure(self, excinfo, style=None):
        from . import failures

        ctx = self.config.stash[CONTEXT]
        seed_option = f"--conformance-seed={ctx.profile.base_seed}"
        exc = excinfo.value
        if isinstance(exc, ClaimFailure):
            message, self.snippet = failures.render_claim_failure(self.claim, self.slot, exc, ctx.profile, seed_option)
            return message
        if isinstance(exc, VerdictMismatch):
            return failures.render_verdict_mismatch(self.claim, self.slot, exc)
        if isinstance(exc, SpecRuntimeError):
            return f"spec error while running: {exc}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, self.claim.line - 1, f"{self.path.name}::{self.claim_key}"


def _device_names(slot: devices.Slot) -> tuple[str, ...]:
    return (slot.device,) + ((slot.other_device,) if slot.other_device else ())


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    first: dict[str, ClaimItem] = {}
    for item in items:
        if not isinstance(item, ClaimItem):
            continue
        seen = first.setdefault(item.claim.id, item)
        if seen.path != item.path:
            item.duplicate_of = f"{seen.claim.file}:{seen.claim.line}"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts: dict[str, dict[str, int]] = {}
    verdicts = {"confirmed": 0, "mismatch": 0}
    spec_errors = 0
    for outcome in ("passed", "failed", "skipped", "error", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            slot = dict(getattr(report, "user_properties", [])).get("device")
            if slot is None:
                if report.nodeid.endswith("::spec-error"):
                    spec_errors += 1
                continue
            key = {"error": "failed", "xfailed": "known failures", "xpassed": "failed"}.get(outcome, outcome)
            counts.setdefault(slot, {}).setdefault(key, 0)
            counts[slot][key] += 1
            check = dict(getattr(report, "user_properties", [])).get("verdict_check")
            if check in verdicts:
                verdicts[check] += 1
    recorder = config.pluginmanager.get_plugin("conformance-results")
    where = recorder.summary_lines() if recorder is not None else []
    if not counts and not spec_errors and not where:
        return
    tr = terminalreporter
    tr.section("conformance summary")
    for slot in sorted(counts):
        c = counts[slot]
        known = f", {c['known failures']} known failures" if c.get("known failures") else ""
        tr.write_line(f"{slot}: {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
                      f"{c.get('skipped', 0)} skipped{known}")
    tr.write_line(f"verdict checks: {verdicts['confirmed']} confirmed, {verdicts['mismatch']} mismatched")
    if spec_errors:
        tr.write_line(f"spec files with errors: {spec_errors}")
    for line in where:
        tr.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if isinstance(item, ClaimItem) and call.when == "call":
        report.user_properties.append(("verdict_check", item.stats.verdict_check))
        report.user_properties.append(("examples", item.stats.examples))
        report.user_properties.append(("applied", list(item.claim.applied)))
        if item.snippet:
            report.user_properties.append(("snippet", item.snippet))
        from .observing import recorded_observations  # Note [Observed behaviour]

        observed = recorded_observations(item.claim, item.slot)
        if observed is not None:
            report.user_properties.append(("observed", observed))
