"""Train a small video classifier on the job's clip shards, the HACS way: 32 frames sampled
at random from each 2-second clip, the label from the record.

A smoke test of the data path, not a recipe for accuracy: ``ClipShardDataset`` (frames
decoded in the DataLoader's workers, only the 32 returned), a resize to ``--size`` pixels, and
a 3-D CNN from random weights (``tiny``: two 3-D convolutions, or torchvision's ``r3d_18``).
It prints the loss as it goes and the clips per second at the end.

    .venv/bin/python examples/train_clips.py --data out/demo --steps 300
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from models.clip_dataset import ClipShardDataset
from transforms.output.layout import published

# Kinetics' mean and standard deviation of RGB in [0, 1] (what torchvision's video models use)
MEAN = torch.tensor([0.43216, 0.394666, 0.37645]).view(3, 1, 1, 1)
STD = torch.tensor([0.22803, 0.22145, 0.216989]).view(3, 1, 1, 1)


class Resize:
    """Sample transform: frames [T, H, W, 3] uint8 -> [3, T, size, size] float, normalised."""

    def __init__(self, size: int):
        self.size = size

    def __call__(self, sample: dict) -> dict:
        frames = sample["frames"].permute(0, 3, 1, 2).float() / 255.0       # T, 3, H, W
        frames = F.interpolate(frames, size=(self.size, self.size), mode="bilinear",
                               antialias=True, align_corners=False)
        video = (frames.permute(1, 0, 2, 3) - MEAN) / STD                   # 3, T, S, S
        return {"video": video, "label": sample["label"]}


def tiny_model(classes: int) -> nn.Module:
    """Two 3-D convolutions, global pooling and a linear layer (a few thousand weights)."""
    return nn.Sequential(
        nn.Conv3d(3, 16, kernel_size=3, stride=(1, 2, 2), padding=1), nn.BatchNorm3d(16),
        nn.ReLU(inplace=True),
        nn.Conv3d(16, 32, kernel_size=3, stride=2, padding=1), nn.BatchNorm3d(32),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(32, classes))


def build_model(name: str, classes: int) -> nn.Module:
    if name == "tiny":
        return tiny_model(classes)
    if name == "r3d_18":
        from torchvision.models.video import r3d_18

        return r3d_18(weights=None, num_classes=classes)
    raise ValueError(f"--model must be tiny or r3d_18, not {name!r}")


def label_names(data: list[str]) -> list[str]:
    """The action classes of the published runs ``data`` (their dataset.json labels)."""
    names: list[str] = []
    for output in data:
        doc = published(output)
        if doc is None:
            raise SystemExit(f"{output}: no published run (dataset.json) there")
        if names and doc.get("labels", []) != names:
            raise SystemExit(f"{output}: its labels differ from the first run's")
        names = list(doc.get("labels", []))
    if len(names) < 2:
        raise SystemExit(f"the runs have {len(names)} action classes; training needs two")
    return names


def train(data: list[str], steps: int = 300, batch_size: int = 8, num_workers: int = 2,
          num_frames: int = 32, size: int = 64, model_name: str = "tiny", lr: float = 3e-3,
          seed: int = 0, log_every: int = 20) -> dict:
    """Train for ``steps`` steps; return the per-step losses, clips seen and clips/s."""
    torch.manual_seed(seed)
    classes = label_names(data)
    dataset = ClipShardDataset(data, shuffle_buffer=64, seed=seed, num_frames=num_frames,
                               sampling="random", transform=Resize(size))
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers,
                        persistent_workers=False)
    model = build_model(model_name, len(classes))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    clips, epoch, start = 0, 0, time.perf_counter()
    while len(losses) < steps:
        dataset.set_epoch(epoch)
        seen_any = False
        for batch in loader:
            keep = batch["label"] >= 0          # -1: a clip without an action class
            if not keep.any():
                continue
            seen_any = True
            logits = model(batch["video"][keep])
            loss = F.cross_entropy(logits, batch["label"][keep])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            clips += int(keep.sum())
            if log_every and len(losses) % log_every == 0:
                print(f"step {len(losses):5d}  epoch {epoch:3d}  loss {losses[-1]:.4f}",
                      flush=True)
            if len(losses) >= steps:
                break
        if not seen_any:
            raise SystemExit("no clip with an action class (label) in the shards")
        epoch += 1
    seconds = time.perf_counter() - start
    return {"losses": losses, "clips": clips, "seconds": seconds,
            "clips_per_s": clips / seconds, "classes": classes, "epochs": epoch}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", required=True,
                    help="job output folders (their published runs are read as one)")
    ap.add_argument("--steps", type=int, default=300, help="optimiser steps (default 300)")
    ap.add_argument("--batch_size", type=int, default=8, help="clips per step (default 8)")
    ap.add_argument("--num_workers", type=int, default=2,
                    help="DataLoader worker processes decoding clips (default 2)")
    ap.add_argument("--num_frames", type=int, default=32,
                    help="frames sampled at random from each clip (HACS: 32)")
    ap.add_argument("--size", type=int, default=64,
                    help="frames resized to size x size pixels (default 64; r3d_18 was "
                         "made for 112)")
    ap.add_argument("--model", default="tiny", choices=("tiny", "r3d_18"),
                    help="tiny (two 3-D convolutions, default) or torchvision's r3d_18, "
                         "random weights either way")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the losses and clips/s to this JSON file")
    args = ap.parse_args(argv)
    result = train(args.data, args.steps, args.batch_size, args.num_workers, args.num_frames,
                   args.size, args.model, args.lr, args.seed)
    losses = result["losses"]
    k = max(1, min(10, len(losses) // 4))
    print(f"loss: first {k} steps {sum(losses[:k]) / k:.4f} -> last {k} "
          f"{sum(losses[-k:]) / k:.4f}; {result['clips']} clips in {result['seconds']:.1f} s "
          f"= {result['clips_per_s']:.1f} clips/s ({args.num_workers} workers, "
          f"{args.num_frames} frames a clip)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
