"""examples/train_clips.py: a small video classifier trained on the job's shards through
ClipShardDataset and a DataLoader with two workers, 32 random frames a clip: the loss falls."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _example():
    spec = importlib.util.spec_from_file_location(
        "train_clips", os.path.join(ROOT, "examples", "train_clips.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_on_the_job_shards_lowers_the_loss(built_dataset, tmp_path, capsys):
    out = built_dataset[0]
    result = _example().main(["--data", out, "--steps", "120", "--batch_size", "4",
                              "--num_workers", "2", "--size", "32",
                              "--json", str(tmp_path / "r.json")])
    losses = result["losses"]
    assert len(losses) == 120 and result["classes"] == ["talking", "walking"]
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, (first, last)
    assert result["clips"] >= 120 * 2 and result["clips_per_s"] > 0
    assert "clips/s" in capsys.readouterr().out
    assert os.path.getsize(tmp_path / "r.json") > 0
