"""The claim corpus itself: quotes are verbatim, ids unique, and the suite passes on this torch.

These are the checks behind "every claim in the five articles becomes a spec": each quote is
a verbatim substring of the article it names, each id is unique across all files, every file
compiles on the installed torch, and the conformance run passes with every claim active on the
CPU (nothing skipped there for lack of a spec feature).
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conformance import catalog, loading, schema
from conformance.versions import installed_torch_version

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("CONFORMANCE_SEEDS", ROOT.parent / "shared" / "seeds"))
SPEC_FILES = sorted((ROOT / "specs").rglob("*.yaml"))


def all_claims():
    for path in SPEC_FILES:
        doc = loading.load_file(path)
        for claim in schema.validate(doc).claims:
            yield path, claim


def test_there_are_spec_files():
    assert len(SPEC_FILES) >= 4


def test_seed_articles_are_present():
    # CI lays shared/ beside the clone; without the articles the quote check below means nothing.
    assert SEEDS.is_dir() and len(list(SEEDS.glob("*.txt"))) == 5, f"seed articles not found at {SEEDS}"


def test_every_quote_is_verbatim_in_its_seed():
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    missing = []
    for path, claim in all_claims():
        for source in claim.sources:
            if source.seed not in texts:
                missing.append(f"{path.name}: {claim.id}: unknown seed {source.seed}")
            elif source.quote not in texts[source.seed]:
                missing.append(f"{path.name}: {claim.id}: quote not in {source.seed}: {source.quote!r}")
    assert not missing, "\n".join(missing)


def test_claim_ids_are_unique_across_files():
    counts = Counter(claim.id for _, claim in all_claims())
    assert not [cid for cid, n in counts.items() if n > 1]


def test_every_seed_article_is_cited():
    cited = {s.seed for _, claim in all_claims() for s in claim.sources}
    assert cited == {p.name for p in SEEDS.glob("*.txt")}


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_spec_file_compiles_on_installed_torch(path):
    catalog.load_claims(path, str(path.relative_to(ROOT)), installed_torch_version(), SEEDS)


DEVICE_REASONS = ("is not available", "needs a second device", "not requested")


def test_conformance_run_passes_with_every_claim_active_on_cpu():
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "specs", "-p", "no:cacheprovider", "-q", "-rfEs",
         "--conformance-profile=ci", "--conformance-devices=cpu", f"--conformance-seeds-dir={SEEDS}"],
        cwd=ROOT, capture_output=True, text=True, timeout=1800)
    tail = proc.stdout[-8000:]
    assert proc.returncode == 0, tail
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    not_device = [line for line in skips if not any(reason in line for reason in DEVICE_REASONS)]
    assert not not_device, "claims skipped on the CPU for a reason other than an absent device:\n" + "\n".join(not_device)
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed == sum(1 for _ in cpu_claims()), summary


def cpu_claims():
    for _, claim in all_claims():
        if schema.is_cross(claim.devices):
            continue  # needs an accelerator beside the CPU; runs where one is present
        only = getattr(claim.devices, "only", None)
        if only is not None and "cpu" not in only:
            continue
        yield claim
