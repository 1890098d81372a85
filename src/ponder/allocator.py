"""Training under jemalloc: `ponder train` re-executes itself with jemalloc preloaded where the library is installed.

Why: under glibc's malloc the heap of a long training run fragments (PyTorch frees and asks for buffers of changing
sizes, glibc keeps the holes: sourceware bug 14581), so an SFT run grew to 6-9 GB and lost half its speed within a
few hundred steps. jemalloc ran 1.53x glibc's tokens/s in half the memory over 40 steps
(benchmarks/results/sft_allocator.md). An allocator can only be swapped before the process starts, hence the
re-exec, the way PyTorch's own CPU launcher (`python -m torch.backends.xeon.run_cpu`) preloads one.
`PONDER_ALLOCATOR=system` keeps glibc's.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Mapping

SWITCH = "PONDER_ALLOCATOR"  # "system" keeps glibc's malloc; anything else (or unset) prefers jemalloc
_TRIED = "PONDER_ALLOCATOR_REEXEC"  # set in the re-executed process, so a preload that failed is not retried


def opted_out(environ: Mapping[str, str]) -> bool:
    """Whether the user keeps the system allocator (PONDER_ALLOCATOR=system, any case)."""
    return environ.get(SWITCH, "").lower() == "system"


def find_jemalloc() -> str | None:
    """The jemalloc shared library's name as the dynamic loader resolves it (e.g. libjemalloc.so.2), or None."""
    if not sys.platform.startswith("linux"):
        return None  # LD_PRELOAD is the Linux loader's; macOS's allocator does not fragment this way
    return ctypes.util.find_library("jemalloc")


def preload_environment(environ: Mapping[str, str], library: str | None) -> dict[str, str] | None:
    """The environment to re-execute with so that `library` is preloaded, or None where no re-exec is wanted:
    no library, the user chose the system allocator, it is preloaded already, or this process is the re-exec."""
    if library is None or opted_out(environ) or environ.get(_TRIED):
        return None
    preloaded = environ.get("LD_PRELOAD", "").replace(":", " ").split()
    if any("jemalloc" in os.path.basename(p) for p in preloaded):
        return None
    env = dict(environ)
    env["LD_PRELOAD"] = " ".join([library, *preloaded])
    env[_TRIED] = "1"
    return env


def jemalloc_loaded() -> bool:
    """Whether this process runs with jemalloc mapped in (read from /proc/self/maps, Linux only)."""
    try:
        with open("/proc/self/maps") as maps:
            return any("jemalloc" in line for line in maps)
    except OSError:
        return False


def reexec_under_jemalloc(log=lambda m: print(m, file=sys.stderr)) -> None:
    """Replace this process with the same command under jemalloc where that is installed and wanted; return
    (and run on glibc's malloc) otherwise. Call it first thing, before any work that must not run twice."""
    library = find_jemalloc()
    env = preload_environment(os.environ, library)
    if env is None:
        if library is None and sys.platform.startswith("linux") and not opted_out(os.environ):
            log("ponder: jemalloc not found; long training runs are faster under it (Debian: apt-get install "
                "libjemalloc2; benchmarks/results/sft_allocator.md)")
        elif os.environ.get(_TRIED) and not jemalloc_loaded():
            log(f"ponder: jemalloc ({library}) could not be preloaded; training on the system allocator")
        return
    log(f"ponder: training under jemalloc ({library}; {SWITCH}=system keeps glibc's malloc)")
    sys.stdout.flush()
    sys.stderr.flush()
    # sys.executable, not orig_argv[0], which may be a bare `python3` looked up on a PATH the user has since changed
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
