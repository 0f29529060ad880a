"""Every ``--conformance-*`` option, its ini key and its environment variable, in one table.

Note [Options]
Each row of ``OPTIONS`` becomes a command-line option ``--conformance-NAME`` (dashes), an ini
key ``conformance_NAME`` (underscores; ``[tool.pytest.ini_options]``, ``pytest.ini``,
``tox.ini``, ``setup.cfg``) and an environment variable (``CONFORMANCE_NAME`` unless the row
names another). A value is taken from the first place that sets it:

    command line  >  environment variable  >  ini file  >  the row's default

Relative paths are resolved against the invocation directory when they come from the command
line or the environment, and against the ini file's directory when they come from the ini
file. Adding an option is adding a row; ``value(config, name)`` reads it. This module imports
nothing but the standard library, so registering the options costs nothing in a pytest run
that never collects a claim.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILE_NAMES = ("ci", "dev", "deep")


@dataclass(frozen=True)
class Option:
    name: str  # "known_failures" -> --conformance-known-failures, conformance_known_failures
    help: str
    kind: str = "str"  # str | int | path | paths | choice | flag
    choices: tuple[str, ...] = ()
    env: str | None = None  # defaults to CONFORMANCE_<NAME>
    also_env: tuple[str, ...] = ()  # older spellings still read
    default: Any = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--conformance-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "conformance_" + self.name

    @property
    def env_var(self) -> str:
        return self.env or "CONFORMANCE_" + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("specs", "a directory of your own claim files to collect and run (repeatable; in an ini file one "
                    "directory per line, which only declares it: it is collected when pytest walks into it)",
           kind="paths", metavar="DIR"),
    Option("devices", "comma-separated torch device types to run claims on (default: cpu,cuda); a requested "
                      "device that is absent is reported as not run", metavar="LIST"),
    Option("require_devices", "fail (instead of skip) every item on a requested device that is absent here, "
                              "for CI jobs that must run on a device", kind="flag", default=False),
    Option("except_devices", "comma-separated device types not to run on, like PyTorch's except_for",
           metavar="LIST"),
    Option("profile", "suite profile: ci (derandomized), dev, deep (default: --hypothesis-profile when given, "
                      "else ci when CI is set, else dev)", kind="choice", choices=PROFILE_NAMES),
    Option("seed", "base seed of every claim's examples; printed after collection (default: "
                   "--hypothesis-seed when given, else from the profile)", kind="int", metavar="N"),
    Option("max_examples", "examples per claim, overriding the profile and the claims' own limits",
           kind="int", metavar="N"),
    Option("results", "write a JSON results file; '{torch}' in the path is replaced by the installed torch "
                      "release (e.g. out/torch-{torch}.json)", kind="path", metavar="PATH"),
    Option("known_failures", "file of claims expected to fail (or to skip) on this build: "
                             "'CLAIM-ID[SLOT]  # reason' per line, see docs/known-failures.md",
           kind="path", metavar="FILE"),
    Option("repro_dir", "directory the standalone reproduction of each failure is written to "
                        "(default: conformance-repro under the pytest cache)", kind="path", metavar="DIR"),
    Option("seeds_dir", "directory of the seed articles, to check quotes verbatim (default: ../shared/seeds "
                        "beside the rootdir if present; without it quotes are not checked)",
           kind="path", metavar="DIR", env="CONFORMANCE_SEEDS_DIR", also_env=("CONFORMANCE_SEEDS",)),
    Option("isolate", "run each item in a forked child with CPU, wall-time and memory limits, so a crash or "
                      "hang costs one item (use it for spec packs you did not write)", kind="flag", default=False),
    Option("mutant", "apply a built-in mutant of torch inside this process (see: autograd-conformance mutants)",
           metavar="NAME"),
)
BY_NAME = {o.name: o for o in OPTIONS}


class OptionError(ValueError):
    """A bad option value; the message names the option and where it was set."""


def add_options(parser: Any) -> None:
    group = parser.getgroup("conformance", "autograd conformance suite (docs/options.md)")
    for o in OPTIONS:
        where = f"[ini {o.ini}, env {o.env_var}]"
        kwargs: dict = {"default": None, "help": f"{o.help} {where}", "dest": "conformance_" + o.name}
        if o.kind == "paths":
            kwargs.update(action="append")
        if o.kind == "flag":
            kwargs.update(action="store_true")
        if o.kind == "choice":
            kwargs.update(choices=list(o.choices))
        if o.metavar:
            kwargs.update(metavar=o.metavar)
        group.addoption(o.flag, **kwargs)
        parser.addini(o.ini, f"{o.help} (same as {o.flag})", type="linelist" if o.kind == "paths" else "string",
                      default=[] if o.kind == "paths" else "")


def _raw(config: Any, o: Option) -> tuple[Any, str, Path]:
    """(raw value, where it was set, base directory for relative paths); raw None when unset."""
    invocation = Path(config.invocation_params.dir)
    cli = config.getoption("conformance_" + o.name, None)
    if cli not in (None, []):
        return cli, o.flag, invocation
    for var in (o.env_var, *o.also_env):
        text = os.environ.get(var)
        if text not in (None, ""):
            return ([p for p in text.split(os.pathsep) if p] if o.kind == "paths" else text), var, invocation
    ini = config.getini(o.ini)
    if ini not in (None, "", []):
        base = Path(config.inipath).parent if getattr(config, "inipath", None) else Path(config.rootpath)
        return ini, f"ini {o.ini}", base
    return None, "default", invocation


def source(config: Any, name: str) -> str:
    """Where option ``name`` got its value: its flag, an environment variable, 'ini KEY' or 'default'."""
    return _raw(config, BY_NAME[name])[1]


def value(config: Any, name: str) -> Any:
    """The value of option ``name`` (see Note [Options]); raises OptionError for a bad one."""
    o = BY_NAME[name]
    raw, where, base = _raw(config, o)
    if raw is None:
        return o.default
    if o.kind == "int":
        try:
            return int(str(raw).strip())
        except ValueError:
            raise OptionError(f"{where}: expected an integer for {o.flag}, got {raw!r}") from None
    if o.kind == "flag":
        if raw is True:
            return True
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise OptionError(f"{where}: {o.flag} takes true or false, got {raw!r}")
    if o.kind == "choice":
        text = str(raw).strip()
        if text not in o.choices:
            raise OptionError(f"{where}: {o.flag} must be one of {', '.join(o.choices)}, got {text!r}")
        return text
    if o.kind == "path":
        return (base / os.path.expanduser(str(raw).strip())).resolve()
    if o.kind == "paths":
        return [(base / os.path.expanduser(str(p).strip())).resolve() for p in raw if str(p).strip()]
    return str(raw).strip()
