"""The child processes of //benchmarks: started with their output where the
caller says, killed after a timeout, reaped with wait4 for their CPU time
and peak RSS. Python 3 standard library only.

    child = Child([binary, "--flag"], subprocess.DEVNULL, log, timeout=60)
    child.signal(signal.SIGTERM)
    child.wait()                 # its exit code; then child.cpu_seconds()
    stdout = run_to_end([binary], timeout=60)  # RunFailed unless it exits 0
    before = machine_cpu_ticks(); ...; busy_percent(before, machine_cpu_ticks())
"""

import os
import signal
import subprocess
import threading


class RunFailed(Exception):
    """A run of a producer, consumer, baseline or filler that did not do its
    job."""


def server_cpus(args):
    """With --pin, the CPU the server of a pair (consumer, peer server)
    runs on: the last one; else None, any."""
    return {os.cpu_count() - 1} if args.pin else None


def client_cpus(args):
    """With --pin, the CPU the client of a pair (producer, peer client)
    runs on: CPU 0; else None, any."""
    return {0} if args.pin else None


class Child:
    """A child process reaped with wait4, for its rusage."""

    def __init__(self, argv, stdout, stderr, timeout, cpus=None):
        """`cpus`: the set of CPUs it may run on (sched_setaffinity), or
        None for any."""
        self.argv = argv
        try:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus))
                if cpus else None)
        except OSError as error:
            raise RunFailed(f"cannot start {argv[0]}: {error}") from None
        self.pid = self.popen.pid
        self.exit_code = None
        self.rusage = None
        self.timed_out = False
        self._lock = threading.Lock()
        self._watchdog = threading.Timer(timeout, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _expire(self):
        with self._lock:
            if self.exit_code is None:
                self.timed_out = True
                os.kill(self.pid, signal.SIGKILL)

    def poll(self):
        """Whether it is still running (without reaping it)."""
        if self.exit_code is not None:
            return False
        try:
            return os.waitid(os.P_PID, self.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def signal(self, signum):
        with self._lock:
            if self.exit_code is None:
                os.kill(self.pid, signum)

    def wait(self):
        _, status, rusage = os.wait4(self.pid, 0)
        with self._lock:
            self.exit_code = os.waitstatus_to_exitcode(status)
            self.popen.returncode = self.exit_code  # reaped here, not by Popen
        self._watchdog.cancel()
        self.rusage = rusage
        return self.exit_code

    def kill(self):
        """Kills and reaps it if it still runs (cleanup after a failure)."""
        if self.exit_code is None:
            self.signal(signal.SIGKILL)
            self.wait()

    def cpu_seconds(self):
        return self.rusage.ru_utime + self.rusage.ru_stime

    def max_rss_mib(self):
        return self.rusage.ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux


def machine_cpu_ticks():
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat:
    busy is everything but idle and iowait."""
    with open("/proc/stat") as stat:
        fields = [int(field) for field in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_percent(before, after):
    """How busy the machine's CPUs were between two machine_cpu_ticks()."""
    total = after[1] - before[1]
    return 100.0 * (after[0] - before[0]) / total if total else None


def tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


def run_to_end(argv, timeout):
    """Runs `argv` to its end and returns its stdout; RunFailed if it times
    out or exits non-zero, with its stderr."""
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{' '.join(argv)}\ntimed out") from None
    if done.returncode != 0:
        raise RunFailed(f"{' '.join(argv)}\nexited with {done.returncode}:"
                        f"\n{done.stderr.strip()}")
    return done.stdout
