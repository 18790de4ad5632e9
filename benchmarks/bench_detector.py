"""Person detector throughput: frames per second by batch size, CPU and (when present) GPU.

Frames are the real ShotFrames the pipeline scores (sample videos, 2 per shot, short side
320 px, JPEG), repeated to fill the batches. Both detectors run through their RunInference
model handlers' ``run_inference`` (what RunInference calls per batch). Faster R-CNN runs with
RANDOM weights (torchvision's COCO weights cannot be downloaded here): throughput does not
depend on the weights' values, only the last post-processing step does, slightly. The
baseline for the ratios is batch size 1 of the same detector and device, in the same run.

    python -m benchmarks.bench_detector [--sizes 1,2,4,8,16,32] [--input_size 800]
"""

from __future__ import annotations

import argparse
import os

import torch

from benchmarks.common import TEST_VIDEOS, best_of
from models.detectors import (
    SsdModelHandler,
    faster_rcnn_model,
    jpeg_to_tensor,
)
from transforms.analyze.decode import decode_pass
from transforms.jpeg import decode_jpeg
from transforms.persons.sampling import ShotFrameSampler
from transforms.shots.histogram import HistogramShotDetector

VIDEOS = ("vtest_a.mp4", "vtest_b.mp4", "Megamind.avi", "Megamind_bugy.avi", "tree.avi")


def shot_frames() -> list[bytes]:
    out = []
    for name in VIDEOS:
        path = os.path.join(TEST_VIDEOS, name)
        detector = HistogramShotDetector()
        sampler = ShotFrameSampler(detector, name)
        out.extend(f.jpeg for f in sampler.result(decode_pass(path, [detector, sampler])))
    return out


def timed(fn, batch, repeats: int) -> float:
    """Best seconds of ``repeats`` runs of ``fn(batch)``."""
    return best_of(lambda: fn(batch), repeats)[0]


def bench(name: str, run, examples: list, sizes: list[int], repeats: int) -> None:
    run(examples[:1])            # warm-up: model setup, first-call allocations
    base = None
    for size in sizes:
        batch = [examples[i % len(examples)] for i in range(size)]
        seconds = timed(run, batch, repeats)
        fps = size / seconds
        base = base or fps
        print(f"{name:<34} batch {size:>3}: {fps:7.2f} frames/s  ({1000 * seconds / size:7.1f} "
              f"ms/frame, x{fps / base:.2f} vs batch 1)", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1,2,4,8,16,32")
    ap.add_argument("--input_size", type=int, default=800,
                    help="Faster R-CNN shorter side in pixels (torchvision default 800)")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs per size")
    ap.add_argument("--detectors", default="ssd_mobilenet_v2,faster_rcnn")
    ap.add_argument("--cpu_threads", type=int, default=0, help="0: library default")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    jpegs = shot_frames()
    print(f"{len(jpegs)} shot frames from {len(VIDEOS)} sample videos; torch threads "
          f"{torch.get_num_threads()}, CUDA: {torch.cuda.is_available()}")
    detectors = args.detectors.split(",")

    if "ssd_mobilenet_v2" in detectors:
        handler = SsdModelHandler(threads=args.cpu_threads)
        model = handler.load_model()
        images = [decode_jpeg(j) for j in jpegs]
        bench("ssd_mobilenet_v2 (OpenCV DNN, CPU)",
              lambda b: list(handler.run_inference(b, model)), images, sizes, args.repeats)

    if "faster_rcnn" in detectors:
        from models.detectors import detection_inference_fn

        tensors = [jpeg_to_tensor(j) for j in jpegs]
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            torch.manual_seed(0)
            model = faster_rcnn_model(min_size=args.input_size,
                                      max_size=round(args.input_size * 1333 / 800))
            model.eval().to(device)
            dev = torch.device(device)

            def run(batch, model=model, dev=dev):
                out = detection_inference_fn(batch, model, dev)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                return out

            bench(f"faster_rcnn random w. {args.input_size}px {device}", run, tensors, sizes,
                  args.repeats)


if __name__ == "__main__":
    main()
