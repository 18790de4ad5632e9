"""Builders of small ground-truth / results documents for the hacs_eval tests."""

from __future__ import annotations

import numpy as np

from hacs_eval.formats import GroundTruth, Segments, parse_ground_truth, parse_results


def gt_doc(videos: dict[str, list[tuple[str, float, float]]],
           subset: str = "validation") -> dict:
    """ActivityNet ground truth: video -> [(label, start, end)], all in ``subset``."""
    return {"version": "test", "database": {
        vid: {"subset": subset, "annotations": [{"label": lab, "segment": [s, e]}
                                                for lab, s, e in anns]}
        for vid, anns in videos.items()}}


def results_doc(videos: dict[str, list[tuple]]) -> dict:
    """ActivityNet results: video -> [(start, end, score)] or [(label, start, end, score)]."""
    out = {}
    for vid, rows in videos.items():
        out[vid] = [{"segment": [r[0], r[1]], "score": r[2]} if len(r) == 3 else
                    {"label": r[0], "segment": [r[1], r[2]], "score": r[3]} for r in rows]
    return {"results": out}


def load(gt: dict, results: dict, with_labels: bool,
         drop_outside: bool = False) -> tuple[GroundTruth, Segments]:
    truth = parse_ground_truth(gt, "validation")
    return truth, parse_results(results, truth, with_labels=with_labels,
                                drop_outside=drop_outside)


def random_documents(rng: np.random.Generator, num_videos: int, num_classes: int,
                     max_gt: int, max_pred: int, outside: int = 0) -> tuple[dict, dict]:
    """Random ground truth (90% validation) and noisy results around it, continuous scores
    (no ties); ``outside`` extra result videos that have no ground truth at all."""
    labels = [f"class{i}" for i in range(num_classes)]
    database, results = {}, {}
    for v in range(num_videos + outside):
        duration = rng.uniform(20, 200)
        anns = []
        if v < num_videos:
            for _ in range(rng.integers(1, max_gt + 1)):
                s = rng.uniform(0, duration * 0.9)
                anns.append({"label": str(rng.choice(labels)),
                             "segment": [s, s + rng.uniform(1, duration - s)]})
            database[f"vid{v}"] = {"subset": "validation" if rng.random() < 0.9 else "training",
                                   "annotations": anns}
        preds = []
        for _ in range(rng.integers(0, max_pred + 1)):
            if anns and rng.random() < 0.6:
                a = anns[rng.integers(len(anns))]
                s = a["segment"][0] + rng.normal(0, 2)
                e = max(a["segment"][1] + rng.normal(0, 2), s + 0.5)
                label = a["label"] if rng.random() < 0.8 else str(rng.choice(labels))
            else:
                s = rng.uniform(0, duration * 0.9)
                e = s + rng.uniform(0.5, duration - s)
                label = str(rng.choice(labels))
            preds.append({"label": label, "score": float(rng.random()), "segment": [s, e]})
        results[f"vid{v}"] = preds
    return {"database": database}, {"results": results}
