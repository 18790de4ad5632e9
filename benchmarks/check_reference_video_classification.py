"""``hacs_eval video-classification`` against ActivityNet's own ``eval_classification.py``,
run under Python 2 on the same random inputs.

The reference is not part of this project (its licence keeps its code out): give a checkout
of github.com/activitynet/ActivityNet and a Python 2.7 with numpy and pandas (it was written
for them, e.g. ``pip install numpy==1.16.6 pandas==0.24.2``)::

    python -m benchmarks.check_reference_video_classification \\
        --activitynet ../ActivityNet --python2 python2.7

Three kinds of input, each over several seeds and k = 1, 3, 5:

* ``distinct``: 60 videos, 7 classes, up to 25 scored labels per video (repeated labels,
  videos outside the subset, subset videos without annotations), distinct scores;
* ``tied``: 8 videos, scores 0.5 or 1.0, at most 16 predictions per class (NumPy's sort keeps
  the order of equal values there, so the reference's tie order is a rule);
* ``all-tied``: the first kind with every score 1.0; with more than 16 equal values the
  order NumPy 1.x gives them is its introsort's, not a rule, so differences are expected
  and printed for information only.

Python 2 walks a JSON object in hash order, not file order; the runner prints the order it
walked the results in, and ours is given the results in that order. Exit status 1 when
``distinct`` or ``tied`` differ by more than 1e-9.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from hacs_eval.formats import parse_video_labels, parse_video_predictions
from hacs_eval.video_classification import evaluate_video_classification

RUNNER = """\
import json, sys
sys.path.insert(0, sys.argv[1])
from eval_classification import ANETclassification
gt, pred, k = sys.argv[2], sys.argv[3], int(sys.argv[4])
a = ANETclassification(gt, pred, subset='validation', top_k=k, check_status=False)
a.evaluate()
names = dict((i, n) for n, i in a.activity_index.items())
print(json.dumps({"ap": dict((names[i], float(x)) for i, x in enumerate(a.ap)),
                  "hit": a.hit_at_k, "avg": a.avg_hit_at_k,
                  "order": list(json.load(open(pred))["results"].keys())}))
"""


def distinct_documents(seed: int, scores: str = "distinct") -> tuple[dict, dict]:
    """60 ground-truth videos (80% validation, up to 3 classes each, some none) of 7 classes,
    10 more in no subset; results of 1 to 25 entries (longer than NumPy's 16-entry insertion
    sort) with repeated labels, a video in 7 without any. ``scores``: ``distinct`` (uniform),
    ``grid`` (on a 0.1 grid: many ties) or ``all-tied`` (every score 1.0)."""
    score = {"distinct": lambda rng: float(rng.random()),
             "grid": lambda rng: float(rng.integers(1, 11)) / 10,
             "all-tied": lambda rng: 1.0}[scores]
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(7)]
    database, results = {}, {}
    for v in range(70):
        anns = [str(rng.choice(labels)) for _ in range(rng.integers(0, 4))]
        if v < 60:
            database[f"v{v}"] = {"subset": "validation" if rng.random() < 0.8 else "training",
                                 "annotations": [{"label": a, "segment": [0, 1]}
                                                 for a in anns]}
        if rng.random() < 0.15:
            continue
        results[f"v{v}"] = [{"label": (str(rng.choice(anns)) if anns and rng.random() < 0.4
                                       else str(rng.choice(labels))),
                             "score": score(rng)}
                            for _ in range(rng.integers(1, 26))]
    return {"database": database}, {"results": results}


def tied_documents(seed: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    database, results = {}, {}
    for v in range(8):
        anns = [str(rng.choice(["a", "b", "c"])) for _ in range(rng.integers(0, 3))]
        if v < 7:
            database[f"v{v}"] = {"subset": "validation",
                                 "annotations": [{"label": a, "segment": [0, 1]}
                                                 for a in anns]}
        results[f"v{v}"] = [{"label": str(rng.choice(["a", "b", "c"])),
                             "score": float(rng.integers(1, 3)) / 2}
                            for _ in range(rng.integers(0, 4))]
    return {"database": database}, {"results": results}


def usable(gt: dict, res: dict) -> bool:
    """The reference stops on a label outside the subset's classes; ties in longer lists
    are NumPy's, not a rule (checked by the caller for the tied kind)."""
    known = {a["label"] for e in gt["database"].values() if e["subset"] == "validation"
             for a in e["annotations"]}
    return bool(known) and all(r["label"] in known for rows in res["results"].values()
                               for r in rows)


def compare(gt: dict, res: dict, k: int, args, tmp: str) -> tuple[float, bool]:
    """(max |difference| over per-class AP, hit@k, avg hit@k; whether file-order ties
    would give other numbers)."""
    gt = {**gt, "version": "check", "taxonomy": []}
    res = {**res, "version": "check", "external_data": {}}
    paths = [os.path.join(tmp, n) for n in ("gt.json", "res.json", "runner.py")]
    for path, doc in zip(paths[:2], (gt, res), strict=True):
        with open(path, "w") as f:
            json.dump(doc, f)
    proc = subprocess.run([*args.python2.split(), paths[2],
                           os.path.join(args.activitynet, "Evaluation"), paths[0], paths[1],
                           str(k)], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"the reference failed:\n{proc.stderr[-2000:]}")
    ref = json.loads(proc.stdout.strip().splitlines()[-1])
    walked = {"results": {v: res["results"][v] for v in ref["order"]}}
    truth = parse_video_labels(gt, "validation")
    preds = parse_video_predictions(walked, truth)
    ours = evaluate_video_classification(truth, preds, k)
    other = evaluate_video_classification(truth, preds, k, "file-order")
    ap = dict(zip(truth.label_names, ours.ap, strict=True))
    diff = max([abs(ap[c] - ref["ap"][c]) for c in ap]
               + [abs(ours.hit_at_k - ref["hit"]), abs(ours.avg_hit_at_k - ref["avg"])])
    moved = (abs(other.mean_ap - ours.mean_ap) > 1e-12
             or abs(other.avg_hit_at_k - ours.avg_hit_at_k) > 1e-12)
    return diff, moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activitynet", required=True,
                        help="checkout of github.com/activitynet/ActivityNet")
    parser.add_argument("--python2", default="python2.7",
                        help="Python 2 command with numpy and pandas (default python2.7)")
    parser.add_argument("--seeds", type=int, default=20, help="seeds per kind (default 20)")
    args = parser.parse_args(argv)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "runner.py"), "w") as f:
            f.write(RUNNER)
        kinds = {"distinct": lambda s: distinct_documents(s),
                 "tied": tied_documents,
                 "all-tied": lambda s: distinct_documents(s, "all-tied")}
        for kind, make in kinds.items():
            worst, runs, moved = 0.0, 0, 0
            for seed in range(args.seeds * (8 if kind == "tied" else 1)):
                gt, res = make(seed)
                if not usable(gt, res):
                    continue
                if kind == "tied" and max(
                        sum(r["label"] == c for rows in res["results"].values() for r in rows)
                        for c in "abc") > 16:
                    continue
                for k in (1, 3, 5):
                    diff, changed = compare(gt, res, k, args, tmp)
                    worst, runs, moved = max(worst, diff), runs + 1, moved + changed
            note = " (NumPy's order of >16 ties; information only)" if kind == "all-tied" else ""
            print(f"{kind:9s} {runs:4d} runs: max |difference| {worst:.3g}; file-order ties "
                  f"would change {moved} of them{note}")
            failed |= kind != "all-tied" and worst > 1e-9
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
