"""Generate spec trees of N claims for the collection benchmarks.

Generated claims look like the real ones: a source with a verbatim quote from a seed article,
a statement, tensor/integer/boolean draws (one with an expression shape), two steps with a
block, and four expectations of different kinds. Ids are unique across the whole tree. Claims
are spread over files of ``per_file`` claims (a spec file is capped at 1 MB, so 10,000 claims
cannot be one file).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = Path(os.environ.get("CONFORMANCE_SEEDS", ROOT.parent / "shared" / "seeds"))
PER_FILE = 50

CLAIM = """\
  - id: gen-{n:05d}-gradient-of-scaled-sum-is-the-scale
    sources:
      - seed: 002_6f65035d0d7de381.txt
        quote: 該張量的梯度將累加到.grad屬性中
    statement: >-
      Generated claim {n}: the gradient of (x * c).sum() with respect to x is c everywhere,
      and a second backward adds it again.
    verdict: holds
    given:
      x: {{tensor: {{dtype: float, shape: {{min_dims: 1, max_dims: 2}}, requires_grad: true}}}}
      w: {{tensor: {{dtype: float, shape: x.shape}}}}
      c: {{integer: {{min: 1, max: {cmax}}}}}
      twice: {{boolean: {{}}}}
    do:
      - y = (x * c).sum() + (w * 0).sum()
      - |
        y.backward(retain_graph=True)
        if twice:
            y.backward()
    expect:
      - close: {{actual: x.grad, expected: "c * (2.0 if twice else 1.0)"}}
      - that: w.grad is None
      - equal: {{actual: x.shape, expected: w.shape}}
      - {{that: "y.requires_grad", torch: ">=1.13"}}
"""


def seeds_dir() -> Path | None:
    return SEEDS if (SEEDS / "002_6f65035d0d7de381.txt").is_file() else None


def write_tree(directory: Path, claims: int, per_file: int = PER_FILE) -> list[Path]:
    """Write ``claims`` generated claims under ``directory`` (created); return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, claims, per_file):
        count = min(per_file, claims - start)
        body = "".join(CLAIM.format(n=start + i, cmax=2 + (start + i) % 7) for i in range(count))
        path = directory / f"generated_{start // per_file:04d}.yaml"
        path.write_text("topic: backward\nclaims:\n" + body, encoding="utf-8")
        files.append(path)
    return files
