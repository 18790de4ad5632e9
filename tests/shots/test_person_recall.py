import json

import pytest

from pipelines.person_recall import clips_in, covered, run
from transforms.output.shot_rows import shot_row
from transforms.types import Shot, Transition


def test_coverage_and_clip_tiling():
    assert covered((2.0, 10.0), [(0.0, 3.0), (5.0, 6.0), (9.0, 20.0)]) == pytest.approx(3.0)
    assert clips_in((1.0, 6.5)) == [(1.0, 3.0), (3.0, 5.0)]
    assert clips_in((1.0, 2.5)) == []


def test_recall_report_from_pipeline_records(tmp_path):
    truth = {"database": {
        "aaa": {"subset": "validation", "annotations": [
            {"label": "Run", "segment": [0.0, 4.0]},       # inside kept shot 0: 2 clips
            {"label": "Jump", "segment": [9.0, 15.0]},     # 1 s of 6 in kept shot 1: missed
        ]},
        "bbb": {"subset": "validation", "annotations": [
            {"label": "Run", "segment": [3.0, 8.0]},       # 4 of 5 s: hit; clips 3-5, 5-7 in
        ]},
        "ccc": {"subset": "validation", "annotations": [{"label": "Run", "segment": [0, 5]}]},
        "ddd": {"subset": "training", "annotations": [{"label": "Run", "segment": [0, 5]}]},
        "eee": {"subset": "validation", "annotations": [{"label": "Run", "segment": [0, 5]}]},
        "fff": {"subset": "validation", "annotations": [{"label": "Run", "segment": [0, 5]}]},
    }}
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(truth))

    def rows(video_id, spans):  # (start, end, person score or None, kept)
        return [shot_row(video_id, Shot(i, 25 * round(a), 25 * round(b), a, b,
                                        Transition.CUT if i else Transition.START), score, kept)
                for i, (a, b, score, kept) in enumerate(spans)]

    lines = [
        *rows("v_aaa", [(0.0, 6.0, 0.9, True), (6.0, 14.0, 0.2, False), (14.0, 20.0, 0.7, True)]),
        *rows("bbb", [(0.0, 2.0, 0.1, False), (2.0, 5.0, 0.8, True), (5.0, 7.0, 0.6, True)]),
        *rows("ccc", [(0.0, 9.0, 0.3, False)]),                        # dropped: no person
        *rows("fff", [(0.0, 9.0, None, False)]),     # a duplicate: never reached the filter
    ]
    shots = tmp_path / "shots.jsonl"
    shots.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    report = run(["--ground_truth", str(gt), "--shots", str(tmp_path / "shots*"),
                  "--subset", "validation", "--output", str(tmp_path / "r.json")])
    assert (report.videos, report.videos_missing, report.videos_dropped) == (3, 2, 1)
    assert (report.segments, report.segments_recalled) == (4, 2)
    assert report.segment_recall == pytest.approx(0.5)
    # clips: aaa 2 + 3, bbb 2, ccc 2 = 9; kept: aaa 0-2, 2-4; bbb 3-5 (shot 2-5), 5-7
    assert (report.clips, report.clips_recalled) == (9, 4)
    assert report.time_covered == pytest.approx((4 + 1 + 4 + 0) / 20)
    assert report.per_label == {"Jump": 0.0, "Run": pytest.approx(2 / 3)}
    assert json.loads((tmp_path / "r.json").read_text())["segments"] == 4
    with pytest.raises(FileNotFoundError):
        run(["--ground_truth", str(gt), "--shots", str(tmp_path / "absent*.jsonl")])
    assert lines[2] == {"video_id": "v_aaa", "shot_index": 2, "start_frame": 350,
                        "end_frame": 500, "start": 14.0, "end": 20.0, "transition": "cut",
                        "person_score": 0.7, "kept": True}
