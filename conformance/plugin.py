"""The pytest layer: collect spec files, expand claims per device, run them, report in spec terms.

Note [Plugin shape]
This module only wires pytest to plain modules; the journey of a spec is
``loading`` (YAML + positions) -> ``schema`` (validate) -> ``compiling`` (expressions, versions)
-> ``devices`` (slots) -> ``running`` (Hypothesis) -> ``failures``/``results`` (report).
A spec file that cannot be loaded becomes one item that errors with the located message, so
the rest of the suite still runs (a collection error would stop the session).

Note [Opt-in collection]
The plugin is installed in every pytest run of the environment (``pytest11``), so it must cost
nothing where it is not asked for. A YAML file is a claim file only when it lies under a *spec
root*: the shipped claims (``conformance/specs`` in the wheel, ``specs/`` of an editable
checkout), or a directory named by ``--conformance-specs``, its environment variable or the
``conformance_specs`` ini key — never because of a folder's name. ``pytest --pyargs
conformance`` (and ``python -m conformance run``) collects the shipped claims. A directory from
the command line or the environment is also added to what pytest collects; one from an ini file
only declares it, so ``pytest tests/`` in a project that configures its specs does not run them.
Until the first claim file is collected the plugin imports no torch, Hypothesis, NumPy, YAML or
pydantic, and it prints nothing: the run's conformance lines come after collection, and only
when claims were collected (``Context`` is built on first use).

Note [Item ids]
An item is named ``CLAIM-ID[SLOT]`` like a parametrized test, so ``-k``, known-failure entries
and rerun commands read naturally. pytest 9.2 keeps node ids structured and parses the
``[...]`` of a report's id as parameters; an item whose id was built as a plain child name
would never match its own report, and ``--lf``/``--ff``/``--sw`` would rerun everything. Where
pytest has structured ids the item's id is therefore built as ``child(CLAIM-ID)`` with
parameters ``SLOT``; older pytest builds the same string itself.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import devices, options  # both light: no torch at import

SHIPPED_PACKAGE = "conformance.specs"


@dataclass
class Context:
    """What running claims needs; built when the first claim file is collected."""

    profile: Any
    devices: tuple[str, ...]
    excluded: tuple[str, ...]
    version: object
    seeds_dir: Path | None
    outcomes: list = field(default_factory=list)


@dataclass
class Roots:
    """Where claim files are (Note [Opt-in collection]); cheap to compute, no heavy imports."""

    shipped: Path | None
    declared: list[Path]  # from the ini file: collected when walked into
    requested: list[Path]  # from the command line / environment: also added to the arguments

    def root_of(self, path: Path) -> Path | None:
        for root in (self.shipped, *self.requested, *self.declared):
            if root is not None and (path == root or root in path.parents):
                return root
        return None


CONTEXT = pytest.StashKey[Context]()
ROOTS = pytest.StashKey[Roots]()
MARKERS = pytest.StashKey[set]()


def shipped_specs() -> Path | None:
    """The claims shipped with the package (mapped from the repository's ``specs/`` at build time)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    for location in (getattr(spec, "submodule_search_locations", None) or []):
        if Path(location).is_dir():
            return Path(location).resolve()
    here = Path(__file__).resolve().parent
    for guess in (here / "specs", here.parent / "specs"):  # wheel layout, then a source checkout
        if guess.is_dir() and any(guess.glob("*.yaml")):
            return guess
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def _usage(fn, *args):
    try:
        return fn(*args)
    except (options.OptionError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: every conformance claim item")
    config.stash[MARKERS] = {"conformance"}
    for name in ("profile", "seed", "max_examples", "devices", "except_devices"):
        _usage(options.value, config, name)  # a bad value is a usage error before anything runs
    _check_except_devices(config)
    if options.source(config, "devices") in (options.BY_NAME["devices"].flag, options.BY_NAME["devices"].env_var):
        # asked for devices on the command line or in the environment: check their names now
        # (imports torch); from an ini file they are checked when claims are collected (context)
        _usage(devices.check_known, devices.requested(options.value(config, "devices")))
    requested = _usage(options.value, config, "specs") if options.source(config, "specs") != "default" else []
    declared = []
    if options.source(config, "specs").startswith("ini "):
        declared, requested = requested, []
    for directory in requested + declared:
        if not directory.is_dir():
            raise pytest.UsageError(f"{options.BY_NAME['specs'].flag} ({options.source(config, 'specs')}): "
                                    f"{directory} is not a directory")
    shipped = shipped_specs()
    config.stash[ROOTS] = Roots(shipped, declared, requested)
    _point_pyargs_at_shipped(config, shipped)
    for directory in requested:
        if not any(_covers(arg, directory) for arg in config.args):
            config.args.append(str(directory))
    mutant = options.value(config, "mutant")
    if mutant:
        from . import mutants

        try:
            mutants.apply(mutant)
        except KeyError as exc:
            raise pytest.UsageError(str(exc.args[0])) from None
    results_path = options.value(config, "results")
    if results_path and not hasattr(config, "workerinput"):  # the xdist controller (or a plain run) writes it
        from .results import ResultsRecorder

        path = Path(_relative(Path(str(results_path).replace("{torch}", _torch_release())),
                              Path(config.invocation_params.dir)))
        config.pluginmanager.register(ResultsRecorder(config, path), "conformance-results")
    known = options.value(config, "known_failures")
    if known:
        from .knownfail import KnownFailures

        config.pluginmanager.register(_usage(KnownFailures.from_file, known), "conformance-known-failures")


def _covers(arg: str, directory: Path) -> bool:
    path = Path(arg.split("::")[0])
    try:
        path = path.resolve()
    except OSError:
        return False
    return path == directory or path in directory.parents or directory in path.parents


def _point_pyargs_at_shipped(config: pytest.Config, shipped: Path | None) -> None:
    """``--pyargs conformance`` means the shipped claims, also in an editable checkout."""
    if shipped is None or not config.getoption("pyargs", False):
        return
    config.args[:] = [str(shipped) if arg in ("conformance", SHIPPED_PACKAGE) else arg for arg in config.args]


def _torch_release() -> str:
    from importlib import metadata

    try:
        text = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "unknown"
    return text.split("+")[0]


def context(config: pytest.Config) -> Context:
    """The run's Context, built on first use (this is where torch and Hypothesis get imported)."""
    ctx = config.stash.get(CONTEXT, None)
    if ctx is not None:
        return ctx
    from . import devices, profiles
    from .versions import installed_torch_version

    wanted = devices.requested(options.value(config, "devices"))
    _usage(devices.check_known, wanted)
    excluded = _check_except_devices(config)
    profile = _usage(lambda: profiles.choose(
        options.value(config, "profile"), options.value(config, "seed"),
        hypothesis_profile=config.getoption("hypothesis_profile", None),
        hypothesis_seed=config.getoption("hypothesis_seed", None),
        max_examples=options.value(config, "max_examples"), random_seed=_session_seed(config)))
    ctx = Context(profile=profile, devices=tuple(d for d in wanted if d not in excluded), excluded=excluded,
                  version=installed_torch_version(), seeds_dir=_seeds_dir(config))
    config.stash[CONTEXT] = ctx
    return ctx


SESSION_SEED = pytest.StashKey[int]()


def _session_seed(config: pytest.Config) -> int:
    """One random base seed per session, shared with pytest-xdist workers (used by random profiles)."""
    worker = getattr(config, "workerinput", None)
    if worker and "conformance_session_seed" in worker:
        return int(worker["conformance_session_seed"])
    if SESSION_SEED not in config.stash:
        import random

        config.stash[SESSION_SEED] = random.SystemRandom().randrange(2**32)
    return config.stash[SESSION_SEED]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist: every worker draws from the controller's base seed."""
    node.workerinput["conformance_session_seed"] = _session_seed(node.config)


def _check_except_devices(config: pytest.Config) -> tuple[str, ...]:
    from . import devices

    wanted = devices.requested(options.value(config, "devices"))
    excluded = tuple(d.strip() for d in (options.value(config, "except_devices") or "").split(",") if d.strip())
    for name in excluded:
        if name not in wanted:
            raise pytest.UsageError(f"{options.BY_NAME['except_devices'].flag}: {name!r} is not among the "
                                    f"requested devices ({','.join(wanted)})")
    return excluded


def _seeds_dir(config: pytest.Config) -> Path | None:
    given = options.value(config, "seeds_dir")
    if given:
        return given
    guess = Path(config.rootpath).parent / "shared" / "seeds"
    return guess.resolve() if guess.is_dir() else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    roots = parent.config.stash.get(ROOTS, None)
    if roots is None or roots.root_of(file_path.resolve()) is None:
        return None
    return SpecFileNode.from_parent(parent, path=file_path)


def pytest_report_collectionfinish(config: pytest.Config, start_path, items) -> list[str]:
    ctx = config.stash.get(CONTEXT, None)
    if ctx is None or not any(isinstance(i, (ClaimItem, SpecErrorItem)) for i in items):
        return []
    import torch

    from .devices import unavailable_reason

    present = [d for d in ctx.devices if unavailable_reason(d) is None]
    absent = [d for d in ctx.devices if d not in present]
    line = f"conformance: torch {torch.__version__}; devices run: {', '.join(present) or 'none'}"
    if absent:
        line += f"; not run: {', '.join(absent)} (absent)"
    if ctx.excluded:
        line += f"; excluded: {', '.join(ctx.excluded)} ({options.BY_NAME['except_devices'].flag})"
    p = ctx.profile
    lines = [line, f"conformance: profile {p.name}, {p.max_examples} examples, base seed {p.base_seed} "
                   f"(rerun with {p.rerun_options()})"]
    if ctx.seeds_dir is None:
        lines.append("conformance: seed articles not found, so quotes are not checked "
                     "(--conformance-seeds-dir=DIR checks them)")
    return lines


class SpecFileNode(pytest.File):
    def collect(self):
        from . import catalog, devices
        from .errors import SpecError, SpecErrors

        ctx = context(self.config)
        shown = _display(self.path, self.config)
        try:
            claims = catalog.load_claims(self.path, shown, ctx.version, ctx.seeds_dir)
        except (SpecError, SpecErrors) as exc:
            yield SpecErrorItem.from_parent(self, name="spec-error", message=str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - Note [A spec file never stops the session]
            yield SpecErrorItem.from_parent(self, name="spec-error", message=(
                f"{shown}: could not be loaded: {type(exc).__name__}: {str(exc)[:300]} (this is a bug of "
                "autograd-conformance, not of the spec: please report it with the file)"))
            return
        for claim in claims:
            for slot in devices.slots(claim.claim.devices, ctx.devices):
                yield ClaimItem.from_parent(self, name=f"{claim.id}[{slot.label}]", claim=claim, slot=slot,
                                            **_item_id(self, claim.id, slot.label))


def _item_id(parent: pytest.Collector, claim_id: str, slot: str) -> dict:
    """Note [Item ids]: a structured id where pytest has them (9.2+), else pytest's own string."""
    pid = getattr(parent, "id", None)
    if pid is not None and hasattr(pid, "with_params") and hasattr(pid, "child"):
        return {"nodeid": pid.child(claim_id).with_params(slot)}
    return {}


def _display(path: Path, config: pytest.Config) -> str:
    try:
        return str(path.relative_to(config.rootpath))
    except ValueError:
        return str(path)


class SpecErrorItem(pytest.Item):
    """Stands for a spec file that could not be loaded; errors with the located message.

    Note [A spec file never stops the session]
    Loading, validating and compiling a spec raise SpecError for everything a spec can get wrong.
    Anything else raised there (a RecursionError from a pathological pattern, a bug of ours met by
    hostile input) would otherwise be a collection error that interrupts the whole run, so it
    becomes this item too: the file errors, every other file still runs.
    """

    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def setup(self) -> None:
        pytest.fail(self.message, pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always fails
        pass

    def reportinfo(self):
        return self.path, 0, f"{self.path.name}: spec error"


def _marker(config: pytest.Config, name: str, meaning: str) -> str:
    """Register a marker the first time an item carries it, so ``--strict-markers`` stays clean."""
    seen = config.stash.setdefault(MARKERS, set())
    if name not in seen:
        seen.add(name)
        config.addinivalue_line("markers", f"{name}: {meaning}")
    return name


class ClaimItem(pytest.Item):
    def __init__(self, *, claim, slot, **kwargs):
        super().__init__(**kwargs)
        from .running import RunStats

        self.claim, self.slot = claim, slot
        self.stats = RunStats()
        self.duplicate_of: str | None = None
        self.snippet: str | None = None
        self.failure_message: str | None = None
        c = claim.claim
        self.user_properties.extend([
            ("claim_id", c.id), ("device", slot.label), ("topic", claim.topic), ("verdict", c.verdict),
            ("spec_file", claim.file), ("spec_line", claim.line),
            ("statement", c.statement), ("refinement", c.refinement),
            ("sources", [_source_props(s) for s in c.sources]),
            ("claim_digest", claim.digest),
        ])
        config = self.config
        self.add_marker(_marker(config, "conformance", "every conformance claim item"))
        self.add_marker(_marker(config, claim.topic, f"conformance claims about topic {claim.topic}"))
        self.add_marker(_marker(config, c.verdict, f"conformance claims whose verdict is {c.verdict}"))
        for name in (slot.device,) + ((slot.other_device,) if slot.other_device else ()):
            self.add_marker(_marker(config, name, f"conformance items that run on device {name}"))

    @property
    def claim_key(self) -> str:
        return f"{self.claim.id}[{self.slot.label}]"

    def setup(self) -> None:
        if self.duplicate_of:
            pytest.fail(f"{self.claim.file}:{self.claim.line}: id: duplicate claim id {self.claim.id!r} "
                        f"(also defined at {self.duplicate_of})", pytrace=False)
        devices.settle(self.slot, devices.require_devices(self.config))

    def runtest(self) -> None:
        from .running import run_claim

        ctx = context(self.config)
        from . import isolation  # Note [Isolation]

        isolate = bool(options.value(self.config, "isolate"))
        if not self.config.getoption("hypothesis_show_statistics", False):
            isolation.run_item(self, ctx.profile, run_claim, isolate)
            return
        from hypothesis.statistics import collector, describe_statistics

        parts: list[str] = []

        def note(stats: dict) -> None:
            stats["nodeid"] = self.nodeid + (" (as stated)" if parts else "")
            parts.append(describe_statistics(stats))

        try:
            with collector.with_value(note):
                isolation.run_item(self, ctx.profile, run_claim, isolate)
        finally:
            self.hypothesis_statistics = "\n".join(parts)  # read by Hypothesis's own pytest plugin

    def repr_failure(self, excinfo, style=None):
        from . import failures

        style = style or self.config.getoption("tbstyle", "auto")
        report = failures.report_for(self.claim, self.slot, excinfo.value, context(self.config).profile,
                                     rerun=self.rerun_command(), style=style, repro_dir=_repro_dir(self.config),
                                     shown_from=Path(self.config.invocation_params.dir))
        if report is None:  # not a claim failure: the plugin's or torch's own error
            report = failures.unexpected_error(self.claim, self.slot, excinfo, style,
                                               lambda: super(ClaimItem, self).repr_failure(excinfo, style=style))
        self.snippet, self.failure_message = report.snippet, report.message
        return report

    def rerun_command(self) -> str:
        """A pytest command that reruns this item from the invocation directory."""
        config = self.config
        here = Path(config.invocation_params.dir)
        target = _relative(self.path, here)
        parts = ["pytest", shlex.quote(f"{target}::{self.claim_key}")]
        roots = config.stash[ROOTS]
        root = roots.root_of(self.path.resolve())
        if root is not None and root != roots.shipped and not _ini_covers(config, root, here):
            parts.append(shlex.quote(f"--conformance-specs={_relative(root, here)}"))
        return " ".join(parts) + " " + context(config).profile.rerun_options()

    def reportinfo(self):
        return self.path, self.claim.line - 1, f"{self.path.name}::{self.claim_key}"


def _source_props(source: Any) -> dict:
    out = {"seed": getattr(source, "seed", None), "quote": getattr(source, "quote", None)}
    for extra in ("url", "none"):
        if getattr(source, extra, None):
            out[extra] = getattr(source, extra)
    return out


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:  # another drive
        return str(path)


def _ini_covers(config: pytest.Config, root: Path, here: Path) -> bool:
    """Whether a rerun from ``here`` finds the same ini file that declares ``root``."""
    roots = config.stash[ROOTS]
    inipath = getattr(config, "inipath", None)
    return root in roots.declared and inipath is not None and (here == inipath.parent or inipath.parent in here.parents)


def _repro_dir(config: pytest.Config) -> Path:
    given = options.value(config, "repro_dir")
    if given:
        return given
    cache = getattr(config, "cache", None)
    if cache is not None:
        try:
            return Path(cache.mkdir("conformance-repro"))
        except OSError:
            pass
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"autograd-conformance-repro-{uid}"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note [Frozen heap]: once claims are compiled, torch's and the claims' objects live for the whole
    session; freezing them keeps every later garbage collection (pytest runs several at exit) from
    scanning them again. Nothing happens in a run without claims."""
    if any(isinstance(item, ClaimItem) for item in session.items):
        import gc

        gc.collect()
        gc.freeze()


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    first: dict[str, ClaimItem] = {}
    claims = [item for item in items if isinstance(item, ClaimItem)]
    for item in claims:
        seen = first.setdefault(item.claim.id, item)
        if seen.path != item.path:
            item.duplicate_of = f"{seen.claim.file}:{seen.claim.line}"
    if claims and not config.getoption("collectonly", False):
        from .environment import problem

        message = problem()
        if message:
            raise pytest.UsageError(message)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts: dict[str, dict[str, int]] = {}
    verdicts = {"confirmed": 0, "mismatch": 0, "error": 0}
    spec_errors = 0
    for outcome in ("passed", "failed", "skipped", "error", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                crashed = devices.crashed_slot(report)  # a worker lost while running the item
                if crashed:
                    counts.setdefault(crashed, {}).setdefault("crashed", 0)
                    counts[crashed]["crashed"] += 1
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
        known += f", {c['crashed']} crashed (worker lost)" if c.get("crashed") else ""
        tr.write_line(f"{slot}: {c.get('passed', 0)} passed, {c.get('failed', 0)} failed, "
                      f"{c.get('skipped', 0)} skipped{known}")
    tr.write_line(f"verdict checks: {verdicts['confirmed']} confirmed, {verdicts['mismatch']} mismatched"
                  + (f", {verdicts['error']} errors" if verdicts["error"] else ""))
    if spec_errors:
        tr.write_line(f"spec files with errors: {spec_errors}")
    for line in where:
        tr.write_line(line)
    ctx = config.stash.get(CONTEXT, None)
    for line in devices.not_run_lines(ctx.devices if ctx else (), counts, devices.require_devices(config)):
        tr.write_sep("!", line, yellow=True, bold=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if isinstance(item, ClaimItem) and call.when == "call":
        report.user_properties.append(("verdict_check", item.stats.verdict_check))
        if item.stats.refuted_by is not None:  # Note [Checked verdicts]: what refuted the article, on what
            from .repro import given_lines

            report.user_properties.append(("refuted_by", item.stats.refuted_by))
            report.user_properties.append(("refuting_example", given_lines(item.claim.plans, item.stats.stated_example)))
        report.user_properties.append(("examples", item.stats.examples))
        report.user_properties.append(("applied", list(item.claim.applied)))
        if item.snippet:
            report.user_properties.append(("snippet", item.snippet))
        if item.failure_message:
            report.user_properties.append(("failure_message", item.failure_message))
        from .observing import recorded_observations  # Note [Observed behaviour]

        observed = recorded_observations(item.claim, item.slot)
        if observed is not None:
            report.user_properties.append(("observed", observed))
