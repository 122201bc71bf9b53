"""A worker's memory and processes are bounded by a cgroup of its own where the machine allows
one."""

from pathlib import Path

import pytest
from handins import BACKPROP

from grader.sandbox import Limits, cgroup, choose_sandbox
from grader.sandbox.cgroup import Place, WorkerCgroup, describe, places, usable
from grader.session import Worker

V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 /ns /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_OWN = "8:pids:/ns/job\n4:memory:/process_api/abc\n0::/\n"


def test_v1_hierarchies_are_found_under_our_own_cgroup_and_a_namespace_root():
    found = places(V1_MOUNTS, V1_OWN)
    assert found["memory"] == Place("memory", Path("/sys/fs/cgroup/memory/process_api/abc"), 1)
    assert found["pids"] == Place(
        "pids", Path("/sys/fs/cgroup/pids/job"), 1
    )  # the mount's root is /ns


def test_v2_is_used_where_it_delegates_the_controllers_below_us(tmp_path):
    own = tmp_path / "user.slice" / "grading"
    own.mkdir(parents=True)
    (own / "cgroup.subtree_control").write_text("cpu memory pids\n")
    mounts = f"41 31 0:38 / {tmp_path} rw,relatime - cgroup2 cgroup2 rw\n"
    assert places(mounts, "0::/user.slice/grading\n") == {
        "memory": Place("memory", own, 2),
        "pids": Place("pids", own, 2),
    }
    (own / "cgroup.subtree_control").write_text("cpu\n")  # not delegated: nothing to use
    assert places(mounts, "0::/user.slice/grading\n") == {}


def test_each_controller_gets_its_limit_from_the_limits_object():
    limits = Limits(memory_mb=300, processes=5)
    assert Place("memory", Path("/x"), 2).limit_files(limits) == [
        ("memory.max", str(300 << 20)),
        ("memory.swap.max", "0"),
    ]
    assert Place("memory", Path("/x"), 1).limit_files(limits)[0] == (
        "memory.limit_in_bytes",
        str(300 << 20),
    )
    assert Place("pids", Path("/x"), 1).limit_files(limits) == [
        ("pids.max", str(5 + cgroup.SANDBOX_PROCESSES))
    ]


def test_a_cgroup_that_cannot_be_made_is_removed_again_and_said(tmp_path, monkeypatch):
    found = {"memory": Place("memory", tmp_path / "missing", 1), "pids": Place("pids", tmp_path, 1)}
    with pytest.raises(OSError):
        WorkerCgroup(Limits(), dict(reversed(found.items())))  # pids made first, then memory fails
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(cgroup, "usable", lambda limits: {})
    assert "no cgroup could be made here" in describe(Limits())


@pytest.mark.skipif(not usable(Limits()), reason="this machine lets no cgroup be made")
@pytest.mark.parametrize("sandbox", ["bubblewrap", "process"])
def test_the_worker_runs_in_a_cgroup_holding_it_to_its_memory_and_is_removed_after(
    tmp_path, sandbox
):
    if sandbox == "bubblewrap" and not choose_sandbox().use_bwrap:
        pytest.skip(f"bubblewrap cannot run here ({choose_sandbox().name})")
    limits = Limits(memory_mb=700, processes=6)
    worker = Worker(choose_sandbox(sandbox), limits, BACKPROP)
    worker.start()
    try:
        group = worker.process.cgroup
        assert group is not None and len(group.folders) == len(usable(limits))
        for folder in group.folders:
            assert str(worker.process.pid) in (folder / "cgroup.procs").read_text().split()
            if (folder / "memory.limit_in_bytes").exists():
                assert int((folder / "memory.limit_in_bytes").read_text()) == 700 << 20
            if (folder / "memory.max").exists():
                assert int((folder / "memory.max").read_text()) == 700 << 20
            if (folder / "pids.max").exists():
                assert int((folder / "pids.max").read_text()) == 6 + cgroup.SANDBOX_PROCESSES
        folders = list(group.folders)
    finally:
        worker.close()
    cgroup.sweep(
        WorkerCgroup.leftover, patience=2.0
    )  # what the next worker, or the grader's exit, does
    assert not any(folder.exists() for folder in folders)
    assert "per worker in all (cgroup v" in describe(limits)
