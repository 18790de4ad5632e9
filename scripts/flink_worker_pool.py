"""A Beam worker pool bound to one address, for ``scripts/flink.sh``.

``python -m apache_beam.runners.worker.worker_pool_main`` listens on every address of the
machine, so two pools on one machine need two ports, and a job's ``--environment_config``
names one of them for all TaskManagers. Bound to one loopback address each (127.0.0.11,
127.0.0.12, ...) on the same port, the pools answer to one name that each TaskManager's JVM
resolves to its own pool (its hosts file), the way each TaskManager pod on Kubernetes talks to
the pool beside it on ``localhost``. Each SDK worker the pool starts is a process of its own.

    python scripts/flink_worker_pool.py --address 127.0.0.11 --port 50000
"""

import argparse
import logging
import time

import grpc
from apache_beam.portability.api import beam_fn_api_pb2_grpc
from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer
from apache_beam.utils import thread_pool_executor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="IP address to listen on")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    server = grpc.server(thread_pool_executor.shared_unbounded_instance(),
                         options=[("grpc.http2.max_pings_without_data", 0),
                                  ("grpc.http2.max_ping_strikes", 0)])
    server.add_insecure_port(f"{args.address}:{args.port}")
    # use_process: each SDK worker is a `python -c ...` process of its own (python from PATH)
    beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(
        BeamFnExternalWorkerPoolServicer(use_process=True), server)
    server.start()
    logging.info("worker pool listening on %s:%d", args.address, args.port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
