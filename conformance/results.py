"""The results file: one JSON document per run, describing what was checked where and how it went.

Note [Results files]
``--conformance-results=PATH`` registers a ``ResultsRecorder`` in the process that reports (a
plain run, or the controller of a ``pytest -n N`` run; xdist workers never write). It learns
everything from ``pytest_runtest_logreport``: an xdist controller collects no items, so the
claim's metadata (statement, refinement, sources, spec location) and the run facts (verdict
check, examples, applied expectations, repro snippet) travel in each report's
``user_properties``, which xdist serializes from the workers. The phases of one item (setup,
call, teardown) are folded into a single outcome:

  passed    every phase passed
  failed    the call failed (an expectation, a step, the verdict check, or a strict XPASS)
  skipped   not run (device absent or not requested): the reason is kept
  error     setup or teardown failed (e.g. a duplicate claim id)
  xfailed   failed, but listed in a known-failure file
  xpassed   passed although listed as known to fail (only possible with non-strict xfail)

Spec files that could not be loaded are ``<file>::spec-error`` items; they are recorded under
``spec_errors`` with their located message, not as claims. At ``pytest_sessionfinish`` the file
is written once, atomically, with the environment (project, torch build, Python, platform,
Hypothesis profile and seed, devices present and absent with the reason). Claims are sorted by
spec file and line and their results by device, so two runs of the same suite differ only in
timings and timestamps. The layout is described by ``results.schema.json`` beside this module
(``SCHEMA_VERSION`` is bumped on any incompatible change); ``conformance.report`` reads it.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path
from typing import Any

import pytest

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
OUTCOMES = ("passed", "failed", "skipped", "error", "xfailed", "xpassed")
SPEC_ERROR_NAME = "spec-error"

# Outcomes that mean the claim's checks actually ran on that device.
RAN = ("passed", "failed", "error", "xfailed", "xpassed")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _props(report: Any) -> dict:
    out: dict = {}
    for entry in getattr(report, "user_properties", None) or []:
        try:
            key, value = entry
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out


def _skip_reason(report: Any) -> str | None:
    longrepr = getattr(report, "longrepr", None)
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        text = str(longrepr[2])
    elif longrepr is not None:
        text = str(getattr(report, "longreprtext", "") or longrepr)
    else:
        return None
    return text[len("Skipped: "):] if text.startswith("Skipped: ") else text


def _text(report: Any) -> str | None:
    """The report's long text, without the '[gw1] linux -- Python ...' line xdist reports start with."""
    text = getattr(report, "longreprtext", "") or ""
    if getattr(report, "node", None) is not None and text.startswith("[gw"):
        first, _, rest = text.partition("\n")
        if " -- Python " in first:
            text = rest
    return text or None


def _bounded(text: str | None, limit: int = 4000) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 40].rstrip() + f"\n... ({len(text) - limit + 40} more characters)"


def _split_nodeid(nodeid: str) -> tuple[str, str, str | None]:
    """``specs/x.yaml::claim-id[cpu]`` -> (file, claim id, slot)."""
    file, _, name = nodeid.partition("::")
    if name.endswith("]") and "[" in name:
        claim_id, _, slot = name[:-1].partition("[")
        return file, claim_id, slot
    return file, name, None


def _refutation(props: dict) -> dict | None:
    """A confirmed verdict: the check that refuted the article and the example it did so on."""
    how, example = props.get("refuted_by"), props.get("refuting_example")
    if not isinstance(how, str):
        return None
    return {"check": how, "example": [str(line) for line in example] if isinstance(example, (list, tuple)) else []}


class _Item:
    """The phases of one claim item seen so far, folded into one record."""

    def __init__(self, nodeid: str):
        self.nodeid = nodeid
        self.props: dict = {}
        self.outcome: str | None = None
        self.reason: str | None = None
        self.message: str | None = None
        self.duration = 0.0

    def add(self, report: Any) -> None:
        self.props.update(_props(report))
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        when = getattr(report, "when", "call")
        wasxfail = getattr(report, "wasxfail", None)
        if when == "call":
            if report.passed:
                self.outcome = "xpassed" if wasxfail is not None else "passed"
            elif report.skipped and wasxfail is not None:
                self.outcome, self.reason = "xfailed", wasxfail or None
                self.message = _text(report)
            elif report.skipped:
                self.outcome, self.reason = "skipped", _skip_reason(report)
            else:
                self.outcome, self.message = "failed", _text(report)
        elif when == "setup":
            if report.failed:
                self.outcome, self.message = "error", _text(report)
            elif report.skipped and wasxfail is not None:
                self.outcome, self.reason = "xfailed", wasxfail or None
            elif report.skipped:
                self.outcome, self.reason = "skipped", _skip_reason(report)
        elif when == "teardown" and report.failed:
            if self.outcome in (None, "passed", "xpassed"):
                self.outcome = "error"
            text = _text(report) or ""
            self.message = (self.message + "\n\n" if self.message else "") + "teardown: " + text

    def result(self) -> dict:
        p = self.props
        _, _, slot = _split_nodeid(self.nodeid)
        applied = p.get("applied")
        examples = p.get("examples")
        return {
            "device": p.get("device") or slot or "",
            "nodeid": self.nodeid,
            "outcome": self.outcome or "error",
            "reason": self.reason,
            "verdict_check": p.get("verdict_check"),
            "refuted_by": _refutation(p),
            "applied": [str(a) for a in applied] if isinstance(applied, (list, tuple)) else [],
            "examples": int(examples) if isinstance(examples, int) else None,
            "duration_s": round(self.duration, 4),
            "message": (p.get("failure_message") or _bounded(self.message)  # spec terms, bounded
                        if self.outcome in ("failed", "error", "xfailed") else None),
            "snippet": p.get("snippet"),
            "observed": p.get("observed") if isinstance(p.get("observed"), dict) else None,
        }

    def claim(self) -> dict:
        p = self.props
        file, claim_id, _ = _split_nodeid(self.nodeid)
        sources = []
        for source in p.get("sources") or []:
            if isinstance(source, dict):
                sources.append({k: str(source[k]) for k in ("seed", "url", "quote", "none") if source.get(k)})
        line = p.get("spec_line")
        return {
            "id": p.get("claim_id") or claim_id,
            "topic": p.get("topic"),
            "verdict": p.get("verdict"),
            "statement": p.get("statement"),
            "refinement": p.get("refinement"),
            "sources": sources,
            "spec_file": p.get("spec_file") or file,
            "spec_line": int(line) if isinstance(line, int) else None,
            "digest": p.get("claim_digest") if isinstance(p.get("claim_digest"), str) else None,
        }


class ResultsRecorder:
    """A pytest plugin object: gathers claim reports and writes the results file at the end."""

    def __init__(self, config: pytest.Config, path: Path):
        self.config = config
        self.path = Path(path)
        self.started = _now()
        self.items: dict[str, _Item] = {}
        self.spec_errors: dict[str, dict] = {}
        self.collection_errors: list[dict] = []
        self.written: Path | None = None
        self.write_error: str | None = None
        self.document: dict | None = None

    # -- pytest hooks ------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.started = _now()

    def pytest_runtest_logreport(self, report: Any) -> None:
        nodeid = report.nodeid
        if nodeid.endswith("::" + SPEC_ERROR_NAME):
            if report.failed:
                file = nodeid[: -len("::" + SPEC_ERROR_NAME)]
                entry = self.spec_errors.setdefault(file, {"file": file, "message": ""})
                text = (_text(report) or "").strip()
                if text and text not in entry["message"]:
                    entry["message"] = (entry["message"] + "\n" + text).strip()
            return
        props = _props(report)
        if "claim_id" not in props and nodeid not in self.items:
            return  # not a claim item (the plugin's collector only makes claims and spec errors)
        self.items.setdefault(nodeid, _Item(nodeid)).add(report)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.collection_errors.append({"nodeid": report.nodeid, "message": _text(report) or ""})

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.document = self.build(int(exitstatus))
        try:
            write_json(self.path, self.document)
            self.written = self.path
        except OSError as exc:
            self.write_error = f"could not write {self.path}: {exc.strerror or exc}"

    # -- the document ------------------------------------------------------------------------
    def build(self, exitstatus: int) -> dict:
        from .plugin import context

        ctx = context(self.config)  # built here in an xdist controller, which collects nothing
        requested = list(ctx.devices) if ctx is not None else []
        claims: dict[tuple, dict] = {}
        for nodeid in sorted(self.items):
            item = self.items[nodeid]
            meta = item.claim()
            key = (meta["spec_file"], meta["id"])
            entry = claims.setdefault(key, {**meta, "results": []})
            entry["results"].append(item.result())
        order = {name: index for index, name in enumerate(requested)}

        def device_key(result: dict) -> tuple:
            first = result["device"].split("-")[0]
            return (order.get(result["device"], order.get(first, len(order))), result["device"])

        ordered = sorted(claims.values(), key=lambda c: (c["spec_file"], c["spec_line"] or 0, c["id"]))
        for claim in ordered:
            claim["results"].sort(key=device_key)
        summary = {name: 0 for name in OUTCOMES}
        for claim in ordered:
            for result in claim["results"]:
                summary[result["outcome"]] += 1
        summary["spec_errors"] = len(self.spec_errors)
        return {
            "schema_version": SCHEMA_VERSION,
            "conformance_version": _project_version(),
            "torch": torch_facts(),
            "numpy": numpy_facts(),
            "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
            "platform": {"system": platform.system(), "release": platform.release(),
                         "machine": platform.machine(), "description": platform.platform()},
            "hypothesis": _hypothesis_facts(ctx),
            "devices": device_facts(requested),
            "started": self.started,
            "finished": _now(),
            "exit_status": exitstatus,
            "xdist_workers": _xdist_workers(self.config),
            "summary": summary,
            "claims": ordered,
            "spec_errors": sorted(self.spec_errors.values(), key=lambda e: e["file"]),
            "collection_errors": self.collection_errors,
        }

    def summary_lines(self) -> list[str]:
        """Lines for the terminal's conformance summary: where the file went, how to render docs."""
        if self.write_error:
            return [f"results: {self.write_error}"]
        if self.written is None or self.document is None:
            return []
        doc = self.document
        items = sum(len(c["results"]) for c in doc["claims"])
        shown_folder = str(self.written.parent)
        return [f"results written to {self.written} ({len(doc['claims'])} claims, {items} items, "
                f"{len(doc['spec_errors'])} spec errors)",
                f"docs: python -m conformance report {shown_folder or '.'} -o docs/  "
                f"(writes docs/verified-behaviour.md, docs/verified-behaviour.html, docs/claims.md)"]


def _project_version() -> str:
    from . import __version__

    return __version__


def torch_facts() -> dict:
    import torch

    from .versions import base_version

    version_module = getattr(torch, "version", None)
    cuda = getattr(version_module, "cuda", None)
    hip = getattr(version_module, "hip", None)
    if cuda:
        build = f"cuda {cuda}"
    elif hip:
        build = f"rocm {hip}"
    else:
        build = "cpu"
    try:
        release = str(base_version(torch.__version__))
    except ValueError:
        release = str(torch.__version__)
    git = getattr(version_module, "git_version", None)
    return {"version": str(torch.__version__), "release": release, "build": build,
            "cuda": str(cuda) if cuda else None, "git_version": str(git) if git else None}


def numpy_facts() -> dict:
    try:
        import numpy
    except ImportError:
        return {"version": None}
    return {"version": str(numpy.__version__)}


def device_facts(requested: list[str]) -> dict:
    from .devices import unavailable_reason

    present, absent = [], []
    for name in requested:
        reason = unavailable_reason(name)
        if reason is None:
            present.append(name)
        else:
            absent.append({"device": name, "reason": reason})
    return {"requested": list(requested), "present": present, "absent": absent}


def _hypothesis_facts(ctx: Any) -> dict:
    import hypothesis

    profile = getattr(ctx, "profile", None)
    return {"version": str(hypothesis.__version__),
            "profile": getattr(profile, "name", None),
            "base_seed": getattr(profile, "base_seed", None),
            "max_examples": getattr(profile, "max_examples", None)}


def _xdist_workers(config: pytest.Config) -> int | None:
    value = getattr(config.option, "numprocesses", None)
    if isinstance(value, int) and value > 0:
        return value
    return None


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load(path: Path) -> dict:
    """Read a results file, checking its schema version (ValueError with the file's name)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable results file ({exc})") from None
    if not isinstance(data, dict) or "claims" not in data or "torch" not in data:
        raise ValueError(f"{path}: not a conformance results file (no 'claims'/'torch')")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path}: results schema_version {version!r}; this version of the tool reads "
                         f"{SCHEMA_VERSION} (regenerate it with --conformance-results)")
    return data


def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


__all__ = ["ResultsRecorder", "SCHEMA_VERSION", "SCHEMA_PATH", "OUTCOMES", "load", "schema", "write_json"]
