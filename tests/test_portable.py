"""The job is portable: on Beam's PortableRunner, with its Python workers in separate
processes started by a worker pool (as Flink and Spark clusters run them), it writes the
same clip records as on the DirectRunner."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pipelines.build_dataset import run
from tests.conftest import VIDEOS, run_dir
from transforms.output.shards import iter_records, match_shards

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker_pool(tmp_path):
    """``localhost:<port>`` of a Beam worker pool in its own process group, killed after."""
    port = _free_port()
    log_path = tmp_path / "worker_pool.log"
    # The pool starts each SDK worker as a bare ``python -c ...`` (worker_pool_main), so the
    # interpreter running the tests must come first on PATH, and the project on PYTHONPATH.
    env = {**os.environ,
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    with open(log_path, "w") as log:
        pool = subprocess.Popen([sys.executable, "-m",
                                 "apache_beam.runners.worker.worker_pool_main",
                                 "--service_port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert pool.poll() is None, f"worker pool exited: {log_path.read_text()}"
            with socket.socket() as s:
                if s.connect_ex(("localhost", port)) == 0:
                    break
            assert time.monotonic() < deadline, f"worker pool silent: {log_path.read_text()}"
            time.sleep(0.2)
        yield f"localhost:{port}", log_path
    finally:
        os.killpg(pool.pid, signal.SIGKILL)  # the pool and the SDK workers it started
        pool.wait(timeout=10)


def _records(out) -> list[bytes]:
    return sorted(r for shard in match_shards(run_dir(out)) for r in iter_records(shard))


def _videos(out) -> list[dict]:
    with open(os.path.join(run_dir(out), "videos.jsonl")) as f:
        return sorted((json.loads(line) for line in f), key=lambda row: row["video_id"])


def test_portable_runner_writes_the_same_records(tmp_path, worker_pool):
    endpoint, log_path = worker_pool
    job = ["--input", VIDEOS, "--skip_person_filter", "--num_shards", "3"]
    direct = tmp_path / "direct"
    run([*job, "--output", str(direct), "--runner", "DirectRunner"], save_main_session=False)
    portable = tmp_path / "portable"
    # through the command line, in a process of its own: a job whose workers never come up
    # waits for them forever, and a timeout here ends it with the pool's log to read
    try:
        proc = subprocess.run([sys.executable, "-m", "pipelines.build_dataset", *job,
                               "--output", str(portable), "--runner", "PortableRunner",
                               "--job_endpoint", "embed", "--environment_type", "EXTERNAL",
                               "--environment_config", endpoint],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the portable job did not finish; worker pool: {log_path.read_text()}")
    assert proc.returncode == 0, proc.stderr + log_path.read_text()
    # the work ran in the pool's workers, not in the job's process
    assert "Starting worker with command" in log_path.read_text()
    with open(os.path.join(run_dir(portable), "report.json")) as f:
        report = json.load(f)
    records = _records(portable)
    assert len(records) == report["clips"] == 38  # 5 videos, one near-duplicate removed;
    # without the person filter clips are still cut inside shots (Megamind: 4 of its 11 s)
    assert records == _records(direct)  # shards are assigned at random: compare the set
    assert _videos(portable) == _videos(direct)
