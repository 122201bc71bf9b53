"""Where untrusted code runs: `worker.py` (the only code of ours inside the sandbox, with its
seccomp guard), `bubblewrap.py` (what it sees), `workers.py` (how it is started), `limits.py`
(every limit, as one object), `cgroup.py` (memory and processes counted by the kernel) and
`reaper.py` (processes left behind outside bubblewrap)."""

from grader.sandbox.limits import Limits, add_limit_options, limits_from, positive
from grader.sandbox.workers import Sandbox, checks_cannot_start_processes, choose_sandbox

__all__ = [
    "Limits",
    "Sandbox",
    "add_limit_options",
    "checks_cannot_start_processes",
    "choose_sandbox",
    "limits_from",
    "positive",
]
