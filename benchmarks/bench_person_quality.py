"""Person filter quality on the sample videos: per shot scores, kept shots, kept/dropped videos.

Each video is cut into shots and 2 frames per shot are scored (the pipeline's path, without
Beam). Videos with people throughout (vtest.avi: pedestrians; Megamind*.avi: animated human
characters in every shot) should keep every shot; tree.avi (no person) should be dropped. Also
times the shot + frame sampling pass against a decode-only pass of the same video (the
sampler's cost), in the same run.

    python -m benchmarks.bench_person_quality [--detector ssd_mobilenet_v2|faster_rcnn]
        [--detector_weights PATH] [--videos DIR]
"""

from __future__ import annotations

import argparse
import os

from benchmarks.common import DecodeOnly, add_videos_option, timed
from models.detectors import load_person_detector
from tests.media import iter_frames
from transforms.analyze.decode import decode_pass
from transforms.jpeg import encode_jpeg
from transforms.persons.sampling import ShotFrameSampler, select_person_shots
from transforms.shots.histogram import HistogramShotDetector

EXPECTED = {"vtest.avi": True, "Megamind.avi": True, "Megamind_bugy.avi": True,
            "tree.avi": False}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_videos_option(ap)
    ap.add_argument("--detector", default="ssd_mobilenet_v2")
    ap.add_argument("--detector_weights", default=None)
    ap.add_argument("--threshold", type=float, default=0.5)
    args = ap.parse_args(argv)
    detector = load_person_detector(args.detector, weights=args.detector_weights,
                                    download=False)
    model = detector.handler.load_model()
    kept_total = shots_total = right = 0
    for name, has_person in EXPECTED.items():
        path = os.path.join(args.videos, name)
        with timed() as decode_only:
            decode_pass(path, [DecodeOnly()])
        shot_detector = HistogramShotDetector()
        sampler = ShotFrameSampler(shot_detector, name)
        with timed() as with_sampling:
            stats = decode_pass(path, [shot_detector, sampler])
            frames = sampler.result(stats)
        shots = shot_detector.result(stats)
        with timed() as detect:
            results = detector.handler.run_inference(
                [detector.prepare(f.jpeg) for f in frames], model)
            scores = [r.inference.score for r in results]
        per_shot: dict[int, float] = {}  # the max over a shot's frames, as ScorePersons
        for f, s in zip(frames, scores, strict=True):
            per_shot[f.shot_index] = max(s, per_shot.get(f.shot_index, 0.0))
        kept = select_person_shots(shots, per_shot, args.threshold)
        kept_total += len(kept)
        shots_total += len(shots)
        right += bool(kept) == has_person
        print(f"{name:<18} people: {'yes' if has_person else 'no ':<3}  shots {len(shots)}  "
              f"kept {len(kept)}  frame scores {' '.join(f'{s:.2f}' for s in scores)}  -> "
              f"{'kept' if kept else 'dropped'}  | decode {decode_only.wall:.2f} s, decode+shots+"
              f"sampling {with_sampling.wall:.2f} s, {args.detector} "
              f"{1000 * detect.wall / len(frames):.0f} ms/frame")
    print(f"videos decided right: {right}/{len(EXPECTED)}; shots kept: "
          f"{kept_total / shots_total if shots_total else 0.0:.1%} "
          f"({kept_total}/{shots_total})")
    print("dense: every frame of tree.avi (a hand enters at frame 54), vtest.avi at 1 fps")
    for name, fps in (("tree.avi", None), ("vtest.avi", 1.0)):
        images = [f.image.copy() for f in iter_frames(os.path.join(args.videos, name), fps,
                                                      short_side=320)]
        scores = []
        for i in range(0, len(images), 8):
            batch = [detector.prepare(encode_jpeg(x, 85)) for x in images[i:i + 8]]
            scores += [r.inference.score for r in
                       detector.handler.run_inference(batch, model)]
        above = sum(s >= args.threshold for s in scores)
        print(f"{name:<18} {len(scores)} frames: min {min(scores):.2f} max {max(scores):.2f}, "
              f"{above} at or above {args.threshold:g}"
              + (f"; frames 0-53 max {max(scores[:54]):.2f}, 54-67 max {max(scores[54:]):.2f}"
                 if name == "tree.avi" else ""))


if __name__ == "__main__":
    main()
