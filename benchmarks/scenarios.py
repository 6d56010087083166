"""The gRPC scenarios of //benchmarks: what each row runs.

    from scenarios import SCENARIOS
    [s.name for s in SCENARIOS if s.durable]   # '1x64B-durable', ...
    scenario.sync(args)                        # 'group', 'none' or None

Durable rows sync their log as --log_sync says (the harness's flag, group
by default), except the `-kernel` rows, which always run at
--log_sync=none: they are the project's rows at the durability of the
peers that leave flushing to the kernel (see peers.py).
"""

import dataclasses

# Durability classes: a project row and a peer row compare when theirs match.
MEMORY = "memory"
FSYNC_PER_GROUP = "fsync per group"
KERNEL_FLUSH = "kernel flush"

DURABILITY_OF_SYNC = {"group": FSYNC_PER_GROUP, "none": KERNEL_FLUSH}


def format_bytes(n):
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    streams: int = 1
    payload_bytes: int = 64
    batched: bool = False
    durable: bool = False
    # The consumer's --log_sync for this durable row; None: the harness's
    # --log_sync.
    log_sync: str = None
    # Paced at --paced_fraction of the peak rate instead of flat out.
    paced: bool = False
    # Times the messages of its kind: long streams, for a run that measures
    # streaming rather than the opening and closing of many streams.
    message_factor: int = 1

    def messages(self, args):
        base = args.batched_messages if self.batched else args.messages
        return base * self.message_factor

    def sync(self, args):
        """The consumer's --log_sync of this row; None if not durable."""
        if not self.durable:
            return None
        return self.log_sync or args.log_sync

    def durability(self, args):
        if not self.durable:
            return MEMORY
        return DURABILITY_OF_SYNC.get(self.sync(args), self.sync(args))

    def describe(self, args):
        return {
            "streams": self.streams,
            "payload": format_bytes(self.payload_bytes),
            "rpc": "batched" if self.batched else "per-message",
            "log": "durable" if self.durable else "memory",
            "sync": self.sync(args),
            "durability": self.durability(args),
        }


SCENARIOS = [
    Scenario("1x64B"),
    Scenario("1x1KiB", payload_bytes=1024),
    Scenario("8x64B", streams=8),
    Scenario("100x64B", streams=100),
    Scenario("1000x64B", streams=1000),
    Scenario("1x64B-batch", batched=True),
    Scenario("1x1KiB-batch", payload_bytes=1024, batched=True),
    Scenario("8x64B-batch", streams=8, batched=True),
    Scenario("1000x64B-batch", streams=1000, batched=True),
    Scenario("1000x64B-batch-long", streams=1000, batched=True,
             message_factor=5),
    Scenario("1x64B-durable", durable=True),
    Scenario("1x64B-batch-durable", batched=True, durable=True),
    Scenario("8x64B-durable", streams=8, durable=True),
    Scenario("1x64B-durable-kernel", durable=True, log_sync="none"),
    Scenario("1x64B-batch-durable-kernel", batched=True, durable=True,
             log_sync="none"),
    Scenario("paced-50pct", paced=True),
    Scenario("paced-50pct-batch", batched=True, paced=True),
]

# The reference of the headline ratio against the Python baseline.
REFERENCE = "1x64B"
