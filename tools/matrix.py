"""Run the conformance suite on every torch release of the tox matrix, one environment at a time.

    python tools/matrix.py                      # every release in tox.ini, oldest first
    python tools/matrix.py --releases 2.8.0,2.9.1
    python tools/matrix.py --keep-wheels-gb 0   # keep no wheels between runs (least disk)

Note [Bounded matrix]
Seventeen torch environments side by side need well over 60 GB (a CUDA build of torch is
~0.9 GB of wheel and 4-7 GB installed, nvidia-* packages included), so this runner holds at most
one environment at a time. For each release, oldest first, it:

  1. downloads the release's wheels (torch, its nvidia-* packages, numpy<2 where tox.ini pins it,
     the suite's own dependencies) into a shared wheelhouse; a wheel already there is not
     fetched again, and neighbouring releases often share their nvidia-* packages. While steps
     2-4 run, the next release's wheels are downloaded in the background (the network is idle
     while the CPU installs and runs; ``--no-prefetch`` turns that off);
  2. installs from the wheelhouse only (--no-index, --upgrade) into the previous release's venv
     when that venv holds no nvidia-* package this release does not need (same CUDA family:
     only what changed is reinstalled, which is most of the CPU time saved), else into a fresh
     one (``--fresh``: always a fresh one);
  3. runs ``pytest specs`` with the repository on ``sys.path`` (the project itself is not
     installed) writing ``results/torch-VERSION.json``, then records the observed behaviour
     (``python -m conformance drift observe``) beside the log;
  4. keeps the venv for the next release (deleted at the end), then evicts the least recently used wheels until the wheelhouse is no
     larger than ``--keep-wheels-gb`` (the next release's wheels count as just used, so they stay).

The pins come from tox.ini (the ``torchNNN: torch==X`` and ``...: numpy<2`` lines of
``[testenv] deps``), so tox and this runner cannot disagree. A background thread samples the
size of the work directory (venv + wheelhouse + pip's temporary files, which are kept there via
TMPDIR) every few seconds; the log records, per release, the seconds spent downloading,
installing and running, and the peak size. The whole run's peak is the largest sample.
pip's own cache is disabled (PIP_NO_CACHE_DIR) so that nothing outside the work directory grows,
and the machine's torch cap (/etc/xdg/pip) is overridden by an empty constraints file.
"""
from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORK = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "autograd-conformance-matrix"


def suite_deps() -> list[str]:
    """The project's own dependencies (pyproject.toml) but torch, whose pin comes from tox.ini."""
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d for d in deps if not re.match(r"torch\b", d)]


# --- tox.ini -----------------------------------------------------------------------------------

def _factor_matches(condition: str, env: str) -> bool:
    """tox factor condition: ``a,b`` is a-or-b; ``a-b`` is a-and-b; ``!a`` negates."""
    factors = set(env.split("-"))
    for alternative in condition.split(","):
        alternative = alternative.strip()
        ok = True
        for part in alternative.split("-"):
            negated = part.startswith("!")
            name = part[1:] if negated else part
            if (name in factors) == negated:
                ok = False
                break
        if ok:
            return True
    return False


def releases_from_tox(tox_ini: Path) -> list[dict]:
    """Every ``torchNNN`` env of tox.ini with its requirements, in the env_list's order."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tox_ini)
    envs = [e.strip() for e in re.split(r"[,\s]+", parser["tox"]["env_list"]) if e.strip().startswith("torch")]
    deps = [line.strip() for line in parser["testenv"]["deps"].splitlines()]
    deps = [line for line in deps if line and not line.startswith("#")]
    out = []
    for env in envs:
        reqs = []
        for line in deps:
            condition, sep, req = line.partition(":")
            if sep and re.fullmatch(r"[!\w,\-]+", condition.strip()):
                if _factor_matches(condition.strip(), env):
                    reqs.append(req.strip())
            elif not sep:
                reqs.append(line)
        torch_pin = next(r for r in reqs if r.startswith("torch=="))
        version = torch_pin.split("==", 1)[1]
        out.append({"env": env, "version": version, "label": version.split("+")[0], "requirements": reqs})
    return out


# --- disk --------------------------------------------------------------------------------------

def tree_bytes(path: Path) -> int:
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


class DiskSampler:
    """Samples the size of a directory in a background thread; ``peak`` is the largest sample."""

    def __init__(self, path: Path, every: float = 3.0):
        self.path, self.every, self.peak = path, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_bytes(self.path))
            self._stop.wait(self.every)

    def __enter__(self) -> "DiskSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_bytes(self.path))


def gb(n: int) -> float:
    return round(n / 1e9, 2)


# --- wheelhouse --------------------------------------------------------------------------------

def evict(wheels: Path, keep_bytes: int) -> list[str]:
    files = sorted(wheels.glob("*"), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    gone = []
    for path in files:
        if total <= keep_bytes:
            break
        total -= path.stat().st_size
        path.unlink()
        gone.append(path.name)
    return gone


# --- one release -------------------------------------------------------------------------------

def _run(cmd: list[str], log, env: dict, cwd: Path | None = None, nice: bool = True) -> tuple[int, float]:
    """Run a step, output to the log; downloads and installs are niced (the machine is shared)."""
    if nice and shutil.which("nice"):
        cmd = ["nice", "-n", "10", *cmd]
    print("$", " ".join(cmd), file=log, flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    return proc.returncode, round(time.monotonic() - start, 1)


def _pip_env(work: Path, tmp: Path) -> dict:
    constraints = work / "no-constraints.txt"
    constraints.write_text("")
    tmp.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, TMPDIR=str(tmp), PIP_NO_CACHE_DIR="1", PIP_CONSTRAINT=str(constraints),
                PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONDONTWRITEBYTECODE="1")


def _download(rel: dict, wheels: Path, log, env: dict) -> tuple[int, float, list[Path]]:
    """pip download into the wheelhouse; returns (rc, seconds, the wheel files this release needs)."""
    reqs = [*rel["requirements"], *suite_deps()]
    cmd = ["nice", "-n", "10", sys.executable, "-m", "pip", "download", "-d", str(wheels), *reqs]
    print("$", " ".join(cmd), file=log, flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    log.write(proc.stdout)
    log.flush()
    files = [Path(m) for m in re.findall(r"(?:Saved|File was already downloaded) (\S+)", proc.stdout)]
    touch([f for f in files if f.exists()])
    return proc.returncode, round(time.monotonic() - start, 1), files


def touch(files: list[Path]) -> None:
    now = time.time()
    for f in files:
        os.utime(f, (now, now))


class Prefetch:
    """Downloads the next release's wheels while this one installs and runs (network vs CPU)."""

    def __init__(self, rel: dict, work: Path):
        self.rel, self.result = rel, (None, 0.0, [])
        self.log = open(work / "prefetch.log", "a")
        env = _pip_env(work, work / "tmp-next")
        self.thread = threading.Thread(target=self._go, args=(work / "wheels", env), daemon=True)
        self.thread.start()

    def _go(self, wheels: Path, env: dict) -> None:
        print(f"== prefetch torch {self.rel['version']}", file=self.log, flush=True)
        self.result = _download(self.rel, wheels, self.log, env)

    def join(self) -> tuple[int | None, float, list[Path]]:
        """Wait for the download; mark the next release's wheels as the most recently used."""
        self.thread.join()
        self.log.close()
        rc, seconds, files = self.result
        touch([f for f in files if f.exists()])
        return rc, seconds, files


def _nvidia(names) -> set[str]:
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names if re.match(r"nvidia[-_]", n, re.I)}


def can_reuse(py: Path, needed: list[Path]) -> bool:
    """Reuse the previous release's venv only if it holds no nvidia-* package this release lacks."""
    if not py.exists():
        return False
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    try:
        installed = _nvidia(p["name"] for p in json.loads(listed.stdout))
    except ValueError:
        return False
    return installed <= _nvidia(f.name.split("-")[0] for f in needed)


def run_release(rel: dict, work: Path, results: Path, keep_bytes: int, log, extra_pytest: list[str],
                next_rel: dict | None = None, reuse: bool = True, prefetched: list[Path] | None = None) -> dict:
    wheels, venv, tmp = work / "wheels", work / "venv", work / "tmp"
    wheels.mkdir(parents=True, exist_ok=True)
    env = _pip_env(work, tmp)
    reqs = [*rel["requirements"], *suite_deps()]
    record: dict = {"release": rel["version"], "env": rel["env"], "requirements": rel["requirements"]}
    start = time.monotonic()
    prefetch = None
    with DiskSampler(work) as sampler:
        before = {p.name for p in wheels.glob("*")}
        if prefetched and all(f.exists() for f in prefetched):  # downloaded during the previous release
            rc, record["download_s"], needed = 0, 0.0, prefetched
        else:
            rc, record["download_s"], needed = _download(rel, wheels, log, env)
        record["downloaded"] = sorted({p.name for p in wheels.glob("*")} - before)
        record["downloaded_gb"] = gb(sum((wheels / n).stat().st_size for n in record["downloaded"]))
        record["wheels_gb"] = gb(sum(f.stat().st_size for f in needed if f.exists()))
        if next_rel is not None:
            prefetch = Prefetch(next_rel, work)
        py = venv / "bin" / "python"
        if rc == 0:
            record["venv"] = "reused" if reuse and can_reuse(py, needed) else "fresh"
            record["install_s"] = 0.0
            if record["venv"] == "fresh":
                shutil.rmtree(venv, ignore_errors=True)
                rc, record["install_s"] = _run([sys.executable, "-m", "venv", str(venv)], log, env)
            if rc == 0:
                rc, t = _run([str(py), "-m", "pip", "install", "-q", "--upgrade", "--no-compile", "--no-index",
                              "--find-links", str(wheels), *reqs], log, env)
                record["install_s"] = round(record["install_s"] + t, 1)
        record["venv_gb"] = gb(tree_bytes(venv)) if venv.exists() else 0
        if rc == 0:
            out = results / f"torch-{rel['label']}.json"
            rc, record["suite_s"] = _run(
                # the plugin from this checkout, and never also from an entry point that a
                # checkout's editable-install metadata (*.egg-info on sys.path) would announce
                [str(py), "-m", "pytest", "specs", "-p", "no:conformance", "-p", "conformance.plugin",
                 "-p", "no:cacheprovider", "-q",
                 "--conformance-profile=ci", f"--conformance-results={out}", *extra_pytest], log, env, cwd=REPO,
                nice=False)
            record["suite_rc"] = rc
            record["results"] = str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out)
            obs = work / "observations" / f"torch-{rel['label']}.json"
            obs.parent.mkdir(exist_ok=True)
            orc, record["observe_s"] = _run([str(py), "-m", "conformance", "drift", "observe", "-o", str(obs),
                                             "--results", str(out)], log, env, cwd=REPO, nice=False)
            record["observations"] = str(obs) if orc == 0 else None
        else:
            record["error"] = f"install failed (rc {rc}); see the log"
        if not reuse or rc != 0:
            shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if prefetch is not None:  # evict only once the next release's wheels are all there
            record["prefetch_next_rc"], record["prefetch_next_s"], files = prefetch.join()
            record["prefetched_next"] = [str(f) for f in files] if record["prefetch_next_rc"] == 0 else []
            shutil.rmtree(work / "tmp-next", ignore_errors=True)
        record["evicted"] = len(evict(wheels, keep_bytes))
    record["wall_s"] = round(time.monotonic() - start, 1)
    record["peak_gb"] = gb(sampler.peak)
    record["wheelhouse_gb_after"] = gb(tree_bytes(wheels))
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--releases", default="", help="comma-separated torch versions (default: every torch env of tox.ini)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"venv + wheelhouse (default {DEFAULT_WORK})")
    ap.add_argument("--results", type=Path, default=REPO / "results", help="where results/torch-VERSION.json go")
    ap.add_argument("--keep-wheels-gb", type=float, default=10.0,
                    help="wheelhouse size kept between releases, least recently used evicted first (default 10)")
    ap.add_argument("--log", type=Path, default=None, help="JSON lines, one per release (default WORK/matrix.jsonl)")
    ap.add_argument("--fresh", action="store_true",
                    help="a fresh venv for every release (default: upgrade the previous one in place when it "
                         "holds no nvidia-* package the release does not need)")
    ap.add_argument("--no-prefetch", action="store_true",
                    help="do not download the next release's wheels while this one installs and runs")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    rels = releases_from_tox(REPO / "tox.ini")
    if args.releases:
        wanted = [v.strip() for v in args.releases.split(",") if v.strip()]
        unknown = [v for v in wanted if v not in {r["version"] for r in rels} | {r["label"] for r in rels}]
        if unknown:
            ap.error(f"--releases: not in tox.ini: {', '.join(unknown)}")
        rels = [next(r for r in rels if v in (r["version"], r["label"])) for v in wanted]  # in the order given
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    log_path = args.log or args.work / "matrix.jsonl"
    pip_log = args.work / "matrix.log"
    total_start, records = time.monotonic(), []
    with open(pip_log, "a") as log:
        for n, rel in enumerate(rels):
            print(f"== torch {rel['version']} ({' '.join(rel['requirements'])})", file=log, flush=True)
            nxt = rels[n + 1] if n + 1 < len(rels) and not args.no_prefetch else None
            rec = run_release(rel, args.work, args.results.resolve(), int(args.keep_wheels_gb * 1e9), log,
                              args.pytest_args, nxt, reuse=not args.fresh,
                              prefetched=[Path(f) for f in records[-1].get("prefetched_next", [])] if records else None)
            records.append(rec)
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            print(f"torch {rec['release']:12s} download {rec.get('download_s', 0):6.1f}s ({rec['downloaded_gb']:5.2f} GB) "
                  f"install {rec.get('install_s', 0):6.1f}s suite {rec.get('suite_s', 0):6.1f}s "
                  f"wall {rec['wall_s']:6.1f}s peak {rec['peak_gb']:5.2f} GB  "
                  f"{'suite rc ' + str(rec['suite_rc']) if 'suite_rc' in rec else rec.get('error')}", flush=True)
    shutil.rmtree(args.work / "venv", ignore_errors=True)
    wall = round(time.monotonic() - total_start, 1)
    peak = max((r["peak_gb"] for r in records), default=0)
    failed = [r["release"] for r in records if r.get("suite_rc") != 0]
    print(f"matrix: {len(records)} releases in {wall} s, peak disk {peak} GB (work dir {args.work}); "
          f"{'all passed' if not failed else 'not passed: ' + ', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
