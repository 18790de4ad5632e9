"""The dataset job on a real local Flink cluster (``scripts/flink.sh``): one JobManager, two
TaskManager JVMs and a Beam worker pool per TaskManager, started once for this module.

The job itself needs Beam's Flink job server jar (Maven ``org.apache.beam:
beam-runners-flink-1.20-job-server``, same version as apache-beam); where it cannot be had,
``flink.sh start`` brings the cluster up without it and the tests that submit to Flink say so
when they skip. Everything else runs wherever ``java`` is on the PATH: the cluster's processes,
the pools' SDK workers running the job (from a Python job server), and a plain Flink job
(tests/flink/SlowSequence.java) that outlives a TaskManager killed under it.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

from tests.conftest import run_dir

pytestmark = [pytest.mark.flink,
              pytest.mark.skipif(shutil.which("java") is None, reason="no java on the PATH")]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLES = ("jobmanager", "taskmanager-1", "taskmanager-2", "worker-pool-1", "worker-pool-2")
DEMO = ["--input", os.path.join(ROOT, "tests", "data", "demo_manifest.csv"), "--num_shards", "2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Cluster:
    env: dict[str, str]
    run_dir: str
    rest: str
    pool_port: int
    job_options: list[str] | None  # None: no job server jar (why: ``missing``)
    missing: str

    def pid(self, role: str) -> int:
        with open(os.path.join(self.run_dir, "pids", role)) as f:
            return int(f.read())

    def get(self, path: str):
        with urllib.request.urlopen(self.rest + path, timeout=10) as response:
            return json.load(response)

    def flink_sh(self, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "scripts/flink.sh", command], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The cluster on free ports, its state in a temporary folder (installs cached in .flink/)."""
    state = str(tmp_path_factory.mktemp("flink"))
    rest_port, pool_port = _free_port(), _free_port()
    env = {**os.environ, "HACS_FLINK_RUN_DIR": state, "HACS_FLINK_REST_PORT": str(rest_port),
           "HACS_FLINK_RPC_PORT": str(_free_port()), "HACS_FLINK_POOL_PORT": str(pool_port)}
    started = subprocess.run(["bash", "scripts/flink.sh", "start"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=900)
    c = Cluster(env, state, f"http://127.0.0.1:{rest_port}", pool_port,
                started.stdout.split() if started.returncode == 0 else None,
                started.stderr.strip().splitlines()[-1] if started.stderr.strip() else "")
    try:
        assert started.returncode in (0, 3), started.stderr
        yield c
    finally:
        c.flink_sh("stop")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a dead process not yet reaped is a zombie
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode().split("\0")


def test_one_jobmanager_two_taskmanagers_and_a_pool_each(cluster):
    pids = {role: cluster.pid(role) for role in ROLES}
    assert len(set(pids.values())) == len(ROLES)
    assert all(_alive(pid) for pid in pids.values())
    for role in ("jobmanager", "taskmanager-1", "taskmanager-2"):
        assert _cmdline(pids[role])[0].endswith("java"), role  # the JVM itself, not a script
    registered = sorted(tm["id"] for tm in cluster.get("/taskmanagers")["taskmanagers"])
    assert registered == ["taskmanager-1", "taskmanager-2"]
    config = {row["key"]: row["value"] for row in cluster.get("/jobmanager/config")}
    assert config["restart-strategy.type"] == "fixed-delay"
    assert int(config["restart-strategy.fixed-delay.attempts"]) >= 1


def test_each_taskmanager_resolves_the_pool_name_to_its_own_pool(cluster):
    for i in (1, 2):
        flag = next(arg for arg in _cmdline(cluster.pid(f"taskmanager-{i}"))
                    if arg.startswith("-Djdk.net.hosts.file="))
        with open(flag.split("=", 1)[1]) as f:
            hosts = {name: line.split()[0] for line in f for name in line.split()[1:]}
        address = hosts["hacs-beam-worker-pool"]
        assert address == f"127.0.0.1{i}"
        assert f"--address {address}" in " ".join(_cmdline(cluster.pid(f"worker-pool-{i}")))
        with socket.create_connection((address, cluster.pool_port), timeout=5):
            pass


def _records(out: str) -> dict[str, bytes]:
    folder = run_dir(out)
    return {name: open(os.path.join(folder, name), "rb").read()
            for name in sorted(os.listdir(folder)) if name.endswith(".tfrecord")}


def _outcomes(out: str) -> list[tuple]:
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    return sorted((r["video_id"], r["status"], r["reason"], r["clips"]) for r in rows)


def _job(args: list[str], timeout: int) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def direct_demo(tmp_path_factory) -> str:
    """The demo's output on the DirectRunner, to compare with."""
    out = str(tmp_path_factory.mktemp("direct_demo"))
    _job([*DEMO, "--output", out], timeout=300)
    return out


def _same_shards(one: str, other: str) -> None:
    shards = sorted(_records(one))
    assert shards == sorted(_records(other)) and len(shards) == 2
    for name in shards:
        assert filecmp.cmp(os.path.join(run_dir(one), name),
                           os.path.join(run_dir(other), name), shallow=False), name


def _on_pool(cluster: Cluster) -> list[str]:
    """Options that run the job on a Python job server with the work in worker-pool-1."""
    return ["--runner", "PortableRunner", "--job_endpoint", "embed",
            "--environment_type", "EXTERNAL",
            "--environment_config", f"127.0.0.11:{cluster.pool_port}"]


def test_the_pools_run_sdk_workers_in_processes_of_their_own(cluster, direct_demo, tmp_path):
    """A pool of the cluster serves the job's Python work (the detector included) from worker
    processes it starts, and the records are the DirectRunner's."""
    out = str(tmp_path / "pool")
    _job([*DEMO, "--output", out, *_on_pool(cluster)], timeout=300)
    assert _outcomes(out) == _outcomes(direct_demo)
    _same_shards(out, direct_demo)
    with open(os.path.join(cluster.run_dir, "log", "worker-pool-1.out")) as f:
        assert "Starting worker with command" in f.read()


def test_a_killed_sdk_worker_then_resume(cluster, direct_demo, tmp_path):
    """SIGKILL the SDK worker process a pool started while videos are being analysed: the
    job (on a Python job server, which does not retry) fails and publishes nothing; the
    rerun with --resume re-uses the videos committed before the kill and writes the
    DirectRunner's shards, each video once."""
    out = str(tmp_path / "out")
    pool = cluster.pid("worker-pool-1")
    on_pool = _on_pool(cluster)
    job = subprocess.Popen([sys.executable, "-m", "pipelines.build_dataset", *DEMO,
                            "--output", out, *on_pool], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _committed(out) >= 1, 240, "a video's results committed")
        workers = _wait(lambda: [pid for pid in _pids() if pid != pool and _pgid(pid) == pool],
                        30, "the pool's SDK worker")
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        _, stderr = job.communicate(timeout=240)
    finally:
        job.kill()
    assert job.returncode != 0 and "run again with --resume" in stderr
    assert not os.path.exists(os.path.join(out, "dataset.json"))
    committed = _committed(out)
    _job([*DEMO, "--output", out, "--resume", *on_pool], timeout=300)
    with open(os.path.join(run_dir(out), "report.json")) as f:
        resumed = json.load(f)["stages"]["analyze"]["videos_resumed"]
    assert resumed == committed >= 1
    assert _outcomes(out) == _outcomes(direct_demo)  # every input video once, same outcome
    _same_shards(out, direct_demo)


def _committed(out: str) -> int:
    """Videos whose analysis is committed in the output's work folder."""
    return sum(name.endswith(".meta") for _, _, names in os.walk(os.path.join(out, "work"))
               for name in names)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def test_demo_on_flink_writes_the_directrunners_shards(cluster, direct_demo, tmp_path):
    if cluster.job_options is None:
        pytest.skip(f"flink.sh start: {cluster.missing}")
    flink = str(tmp_path / "flink")
    _job([*DEMO, "--output", flink, *cluster.job_options], timeout=900)
    assert _outcomes(flink) == _outcomes(direct_demo)
    _same_shards(flink, direct_demo)
    for name in ("report.json", "report.html", "shots.jsonl"):
        assert os.path.exists(os.path.join(run_dir(flink), name)), name


@pytest.fixture(scope="module")
def slow_sequence_jar(tmp_path_factory) -> str:
    """tests/flink/SlowSequence.java compiled against the cluster's Flink."""
    if shutil.which("javac") is None:
        pytest.skip("no javac on the PATH (a JDK) to build the Flink test job")
    folder = tmp_path_factory.mktemp("slow_sequence")
    lib = os.path.join(ROOT, ".flink", "dist", "pyflink", "lib", "*")
    subprocess.run(["javac", "-nowarn", "-cp", lib, "-d", str(folder),
                    os.path.join(ROOT, "tests", "flink", "SlowSequence.java")],
                   check=True, capture_output=True, timeout=120)
    jar = str(folder / "slow-sequence.jar")
    subprocess.run(["jar", "cf", jar, "-C", str(folder), "."], check=True, timeout=60)
    return jar


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_a_job_survives_a_taskmanager_killed_under_it(cluster, slow_sequence_jar):
    """SIGKILL by the PID file while a Flink job runs on both TaskManagers: the JobManager
    drops the TaskManager, restarts the lost tasks on the other (fixed-delay) and the job
    finishes."""
    flink = os.path.join(ROOT, ".flink", "dist", "pyflink", "bin", "flink")
    env = {**os.environ, "FLINK_CONF_DIR": os.path.join(cluster.run_dir, "conf", "jobmanager"),
           "FLINK_LOG_DIR": os.path.join(cluster.run_dir, "log")}
    # 600 numbers at 50 ms each over 2 tasks: 15 s
    submitted = subprocess.run([flink, "run", "-d", "-c", "SlowSequence", slow_sequence_jar,
                                "600", "50"], env=env, capture_output=True, text=True,
                               timeout=120)
    assert submitted.returncode == 0, submitted.stderr
    job = "/jobs/" + submitted.stdout.split("JobID")[-1].split()[0]

    def running_on_both() -> bool:
        vertex = cluster.get(job)["vertices"][0]["id"]  # source, map and sink: one chain
        tasks = cluster.get(f"{job}/vertices/{vertex}/taskmanagers")["taskmanagers"]
        return sorted((tm["taskmanager-id"], tm["status-counts"]["RUNNING"]) for tm in tasks) \
            == [("taskmanager-1", 1), ("taskmanager-2", 1)]

    _wait(running_on_both, 60, "the job running a task on each TaskManager")
    os.kill(cluster.pid("taskmanager-2"), signal.SIGKILL)
    state = _wait(lambda: cluster.get(job)["state"] in ("FINISHED", "FAILED")
                  and cluster.get(job)["state"], 120, "the job's end")
    assert state == "FINISHED"
    restarts = cluster.get(job + "/metrics?get=numRestarts")[0]["value"]
    assert int(restarts) >= 1
    assert "taskmanager-2" in cluster.get(job + "/exceptions")["root-exception"]
    assert [tm["id"] for tm in cluster.get("/taskmanagers")["taskmanagers"]] == ["taskmanager-1"]


def test_stop_ends_every_process_it_started(cluster):
    pids = {role: cluster.pid(role) for role in ROLES}
    pool = pids["worker-pool-1"]
    sdk_workers = [pid for pid in _pids() if pid != pool and _pgid(pid) == pool]
    stopped = cluster.flink_sh("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not [role for role, pid in pids.items() if _alive(pid)]
    assert not [pid for pid in sdk_workers if _alive(pid)]
    assert not os.listdir(os.path.join(cluster.run_dir, "pids"))


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
