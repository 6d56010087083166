"""Finds a file of this workspace in a Bazel test's runfiles.

    from testing.runfiles import runfile
    CONSUMER = runfile("consumer_service/consumer_service")
"""

import os

WORKSPACE = "grpc_producer_consumer"


def runfile(relative):
    """The path of `relative` (from the workspace root) in the runfiles;
    FileNotFoundError if it is not among the test's data."""
    for root in (os.environ.get("RUNFILES_DIR"), os.environ.get("TEST_SRCDIR")):
        if root and os.path.exists(os.path.join(root, WORKSPACE, relative)):
            return os.path.join(root, WORKSPACE, relative)
    raise FileNotFoundError(f"{relative} is not in the runfiles")
