"""Is this environment able to run the suite at all? One clear usage error instead of many failures.

Note [Environment check]
Before the first claim runs, the plugin checks that torch can exchange arrays with NumPy, the
one interop a bad ``pip install`` breaks silently: torch 2.2 and older were built against NumPy
1.x, and with NumPy 2 every ``tensor.numpy()`` raises. Without this check such an environment
fails most claims with long tracebacks that say nothing about the claims. A problem found here
is a single usage error naming the fix.
"""
from __future__ import annotations

import warnings


def problem() -> str | None:
    """A one-paragraph description of what is wrong with this environment, or None."""
    import torch

    try:
        import numpy as np
    except ImportError:
        return f"NumPy is not installed; torch {torch.__version__} needs it for the suite: pip install numpy"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            there = torch.arange(3, dtype=torch.float32).numpy()
            back = torch.from_numpy(np.arange(3, dtype=np.float32))
        if there.tolist() != [0.0, 1.0, 2.0] or back.tolist() != [0.0, 1.0, 2.0]:
            raise RuntimeError("values changed on the way")
    except Exception as exc:  # torch reports a missing NumPy ABI as RuntimeError or ImportError
        detail = " ".join(str(exc).split())[:200]
        numpy_major = int(str(np.__version__).split(".")[0] or 0)
        torch_release = tuple(int(p) for p in str(torch.__version__).split("+")[0].split(".")[:2] if p.isdigit())
        if numpy_major >= 2 and torch_release < (2, 3):
            return (f"torch {torch.__version__} was built against NumPy 1.x and cannot use the installed NumPy "
                    f"{np.__version__}; install numpy<2 (pip install 'numpy<2'). [{type(exc).__name__}: {detail}]")
        return (f"torch {torch.__version__} cannot exchange arrays with NumPy {np.__version__}: "
                f"{type(exc).__name__}: {detail}")
    return None
