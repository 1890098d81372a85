import os
import subprocess
import sys

import pytest

from ponder.allocator import SWITCH, find_jemalloc, preload_environment

LIB = "libjemalloc.so.2"


@pytest.mark.parametrize("environ, library", [
    ({}, None),  # not installed
    ({SWITCH: "system"}, LIB),  # the user keeps glibc's
    ({SWITCH: "SYSTEM"}, LIB),
    ({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}, LIB),  # preloaded already
    ({"PONDER_ALLOCATOR_REEXEC": "1"}, LIB),  # this is the re-exec: a failed preload is not retried
])
def test_no_reexec(environ, library):
    assert preload_environment(environ, library) is None


def test_reexec_environment_keeps_the_callers_preloads_and_the_rest():
    env = preload_environment({"LD_PRELOAD": "libfoo.so:libbar.so", "HOME": "/h"}, LIB)
    assert env["LD_PRELOAD"] == f"{LIB} libfoo.so libbar.so"
    assert env["HOME"] == "/h"
    assert env["PONDER_ALLOCATOR_REEXEC"] == "1"
    assert preload_environment(env, LIB) is None  # the re-executed process does not loop


def _run(code: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", SWITCH, "PONDER_ALLOCATOR_REEXEC")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**env, **extra},
                          timeout=120)


needs_jemalloc = pytest.mark.skipif(find_jemalloc() is None, reason="jemalloc is not installed (libjemalloc2)")


@needs_jemalloc
def test_the_process_is_replaced_by_one_under_jemalloc():
    code = ("from ponder.allocator import reexec_under_jemalloc, jemalloc_loaded; reexec_under_jemalloc(); "
            "print('loaded', jemalloc_loaded())")
    run = _run(code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["loaded", "True"]  # printed once: the first process never got that far
    assert "training under jemalloc" in run.stderr
    kept = _run(code, **{SWITCH: "system"})
    assert kept.stdout.split() == ["loaded", "False"]
    assert "jemalloc" not in kept.stderr


@needs_jemalloc
def test_ponder_train_reexecs_once_then_validates_as_before():
    code = ("import sys; from ponder.cli import main; sys.argv = ['ponder', 'train', 'grpo', '--group', '1']; "
            "sys.exit(main())")
    run = _run(code)
    assert run.returncode == 2
    assert run.stderr.count("training under jemalloc") == 1
    assert run.stderr.count("ponder: error:") == 1
