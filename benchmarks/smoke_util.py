"""Helpers the benchmarks' tests share: finding the runfiles, loading and
running the harness, writing stand-in scripts.

    from smoke_util import runfile, run_harness
    done = run_harness("--quick", "--scenarios=1x64B")
"""

import importlib.util
import os
import stat
import subprocess
import sys

from testing.runfiles import runfile


HARNESS = runfile("benchmarks/run_benchmarks.py")


def load_harness(module_name="run_benchmarks"):
    sys.path.insert(0, os.path.dirname(HARNESS))  # for its sibling modules
    spec = importlib.util.spec_from_file_location(
        module_name, os.path.join(os.path.dirname(HARNESS),
                                  module_name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_harness(*flags):
    return subprocess.run([sys.executable, HARNESS, *flags],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=240, check=False)


def write_script(directory, name, body):
    path = os.path.join(directory, name)
    with open(path, "w") as script:
        script.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path
