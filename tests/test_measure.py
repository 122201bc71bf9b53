"""benchmarks/measure.py counts a command's whole process tree, processes its parent never waits
for included, and leaves no cgroup behind."""

import sys
from pathlib import Path

import pytest

from base.paths import COURSE_ROOT

sys.path.insert(0, str(COURSE_ROOT / "benchmarks"))
import measure  # noqa: E402

# A child that starts a busy grandchild and exits, once it has ended, without reaping it: init
# reaps it, as bubblewrap's namespace reaps the sandboxed workers, so the parent's
# RUSAGE_CHILDREN never sees its CPU time.
ORPHANING = """
import os, subprocess, sys, time
busy = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.5: pass"
pid = subprocess.Popen([sys.executable, "-c", busy]).pid
while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
os._exit(0)
"""
ALLOCATING = "block = bytearray(200 << 20)\nfor i in range(0, len(block), 4096): block[i] = 1"


def cgroups_here():
    group, why = measure.new_group()
    if group is None:
        pytest.skip(f"no cgroup can be made here: {why}")
    measure.remove(group.folders.values())


def test_cpu_of_a_process_nobody_waits_for_is_counted():
    cgroups_here()
    measured = measure.measure([sys.executable, "-c", ORPHANING])
    assert measured.returncode == 0, measured.stderr
    assert measured.cpu >= 0.45, measured
    assert measured.rusage_cpu < 0.4, measured  # what the fallback would have reported


def test_peak_memory_covers_what_the_command_touched():
    cgroups_here()
    measured = measure.measure([sys.executable, "-c", ALLOCATING])
    if measured.peak_mb is None:
        pytest.skip("this machine's cgroups give no peak memory (no memory controller)")
    assert measured.peak_mb >= 200, measured


def test_no_cgroup_is_left_behind():
    cgroups_here()
    v1, v2 = measure.hierarchies(measure.MOUNTINFO.read_text(), measure.OWN_CGROUPS.read_text())
    homes = [*v1.values(), *([v2] if v2 else [])]
    measure.measure([sys.executable, "-c", "pass"])
    assert not [p for home in homes for p in Path(home).glob(f"{measure.NAME}-*")]


def test_without_cgroups_it_says_the_cpu_figure_misses_sandboxed_workers(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "mountinfo").write_text("22 1 0:21 / /proc rw - proc proc rw\n")
    monkeypatch.setattr(measure, "MOUNTINFO", tmp_path / "mountinfo")
    monkeypatch.setattr(measure, "_warned", [])
    measured = measure.measure([sys.executable, "-c", "pass"])
    assert measured.cpu == measured.rusage_cpu and measured.peak_mb is None
    assert "MISS the sandboxed workers" in capsys.readouterr().out
    assert "MISSING sandboxed workers" in measure.accounting()


def test_hierarchies_read_v1_comounts_v2_and_namespaces():
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "31 25 0:27 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    )
    own = "4:memory:/outer/job\n3:cpu,cpuacct:/job\n0::/session\n"
    v1, v2 = measure.hierarchies(mountinfo, own)
    assert v1 == {
        "cpuacct": Path("/sys/fs/cgroup/cpu,cpuacct/job"),
        "memory": Path("/sys/fs/cgroup/memory/job"),
    }
    assert v2 == Path("/sys/fs/cgroup/unified/session")
