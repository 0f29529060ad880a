"""Known-failure lists: how a torch fork or backend adopts the suite without editing specs.

Note [Known failures]
A maintainer keeps a plain text file (format: docs/known-failures.md), one entry per line:

    detach-shares-storage-and-does-not-require-grad[mps]   # our detach copies on MPS (issue 123)
    gradients-accumulate-across-backward-calls             # every device: see fork issue 77

    [skip]
    set-grad-enabled-toggles[mps]                          # crashes the process on our build (issue 9)

``ID`` matches the claim on every device slot, ``ID[SLOT]`` only that slot; ``# reason`` is
required. Entries before any section header, or under ``[xfail]``, are expected failures: they
get a strict ``xfail`` marker, so a listed claim that fails is reported as an expected failure
and one that passes is an unexpected pass that fails the run (the list is stale). Entries under
``[skip]`` are claims that must not run at all on this build (they crash or hang it): they are
reported as skipped with the file, line and reason. An entry that matches no collected claim
is reported at the end of the run, so typos and removed claims do not go unnoticed.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SECTIONS = ("xfail", "skip")
SECTION = re.compile(r"^\[(?P<name>[A-Za-z]+)\]\s*(#.*)?$")
ENTRY = re.compile(r"^(?P<id>[a-z0-9][a-z0-9-]*[a-z0-9])(?:\[(?P<slot>[A-Za-z0-9_:-]+)\])?\s*#\s*(?P<reason>\S.*)$")


@dataclass(frozen=True)
class Entry:
    claim_id: str
    slot: str | None
    reason: str
    line: int
    section: str = "xfail"

    def matches(self, claim_id: str, slot: str) -> bool:
        return claim_id == self.claim_id and (self.slot is None or self.slot == slot)

    def __str__(self) -> str:
        return self.claim_id + (f"[{self.slot}]" if self.slot else "")


@dataclass
class KnownFailures:
    path: Path
    entries: list[Entry]
    seen: set = field(default_factory=set)

    @classmethod
    def parse(cls, text: str, path: Path) -> "KnownFailures":
        entries = []
        section = "xfail"
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            header = SECTION.match(line)
            if header is not None:
                section = header["name"].lower()
                if section not in SECTIONS:
                    raise ValueError(f"{path}:{number}: unknown section [{header['name']}]; "
                                     f"sections are {', '.join(f'[{n}]' for n in SECTIONS)}")
                continue
            match = ENTRY.match(line)
            if match is None:
                raise ValueError(f"{path}:{number}: expected 'CLAIM-ID[SLOT]  # reason' "
                                 f"(the slot is optional, the reason is required), got {raw.strip()!r}")
            entries.append(Entry(match["id"], match["slot"], match["reason"].strip(), number, section))
        return cls(path, entries)

    @classmethod
    def from_file(cls, path: Path) -> "KnownFailures":
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"--conformance-known-failures: cannot read {path}: {exc.strerror}") from None
        return cls.parse(text, path)

    def entry_for(self, claim_id: str, slot: str) -> Entry | None:
        for entry in self.entries:
            if entry.matches(claim_id, slot):
                return entry
        return None

    # -- pytest hooks ----------------------------------------------------------------------
    def pytest_collection_modifyitems(self, items) -> None:
        from .plugin import ClaimItem

        for item in items:
            if isinstance(item, ClaimItem):
                entry = self.entry_for(item.claim.id, item.slot.label)
                if entry is not None and entry.section == "skip":
                    item.add_marker(pytest.mark.skip(reason=f"not run on this build ({self.path.name}:"
                                                            f"{entry.line}): {entry.reason}"))
                elif entry is not None:
                    item.add_marker(pytest.mark.xfail(strict=True, reason=f"known failure ({self.path.name}:"
                                                                          f"{entry.line}): {entry.reason}"))

    def pytest_runtest_logreport(self, report) -> None:
        props = dict(report.user_properties)
        if "claim_id" in props:
            self.seen.add((props["claim_id"], props["device"]))

    def unmatched(self) -> list[Entry]:
        return [e for e in self.entries if not any(e.matches(c, s) for c, s in self.seen)]

    def pytest_terminal_summary(self, terminalreporter) -> None:
        stale = self.unmatched()
        terminalreporter.section("known failures")
        skips = sum(e.section == "skip" for e in self.entries)
        terminalreporter.write_line(f"{len(self.entries)} entries from {self.path}"
                                    + (f" ({skips} not run: [skip])" if skips else ""))
        for entry in stale:
            message = f"{self.path}:{entry.line}: entry {entry} matches no claim that ran"
            terminalreporter.write_line(message)
            warnings.warn(pytest.PytestWarning(message))
