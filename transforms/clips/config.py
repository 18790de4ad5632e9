"""Options of the clip stage: its config dataclass and the function that fills it from the
command line. Defaults follow HACS Clips (Zhao et al., ICCV 2019, Sec. 3: 2-second clips)."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.clips.sampler import (
    CLIP_SECONDS,
    CLIP_STRIDE,
    FRAMES_PER_CLIP,
    JPEG_QUALITY,
    SHORT_SIDE,
)


@dataclass(frozen=True)
class ClipConfig:
    """How clips are cut: ``clip_seconds`` long, one every ``stride`` seconds,
    ``frames_per_clip`` frames evenly spaced, stored with their short side at ``short_side``
    pixels as JPEG of quality ``jpeg_quality`` (1..100)."""

    clip_seconds: float = CLIP_SECONDS
    stride: float = CLIP_STRIDE
    frames_per_clip: int = FRAMES_PER_CLIP
    short_side: int = SHORT_SIDE
    jpeg_quality: int = JPEG_QUALITY

    def __post_init__(self) -> None:
        if not self.clip_seconds > 0:
            raise ValueError(f"--clip_seconds must be > 0, not {self.clip_seconds}")
        if not self.stride > 0:
            raise ValueError(f"--clip_stride must be > 0, not {self.stride}")
        if self.frames_per_clip < 1:
            raise ValueError(f"--frames_per_clip must be >= 1, not {self.frames_per_clip}")
        if self.short_side < 1:
            raise ValueError(f"--short_side must be >= 1 pixel, not {self.short_side}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"--jpeg_quality must be in 1..100, not {self.jpeg_quality}")


def add_clip_arguments(parser) -> None:
    """Add the clip options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--clip_seconds", type=float, default=CLIP_SECONDS,
                        help="Clip length in seconds (HACS Clips: 2-second clips).")
    parser.add_argument("--clip_stride", type=float, default=CLIP_STRIDE,
                        help="Seconds between clip starts (default: the clip length, so "
                             "clips are consecutive and do not overlap).")
    parser.add_argument("--frames_per_clip", type=int, default=FRAMES_PER_CLIP,
                        help="Frames stored per clip, evenly spaced (16 over 2 s: 8 fps).")
    parser.add_argument("--short_side", type=int, default=SHORT_SIDE,
                        help="Pixels of the stored frames' short side; frames are "
                             "downscaled, never upscaled (128: the C3D/R(2+1)D input size).")
    parser.add_argument("--jpeg_quality", type=int, default=JPEG_QUALITY,
                        help="JPEG quality (1..100) of stored frames.")


def clip_config_from_options(options) -> ClipConfig:
    """ClipConfig from options added by :func:`add_clip_arguments` (ValueError naming the
    option for a value that cannot work)."""
    return ClipConfig(clip_seconds=options.clip_seconds, stride=options.clip_stride,
                      frames_per_clip=options.frames_per_clip, short_side=options.short_side,
                      jpeg_quality=options.jpeg_quality)
