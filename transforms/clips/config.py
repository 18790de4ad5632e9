"""Options of the clip stage: its config dataclass and the function that fills it from the
command line. Defaults follow HACS Clips (Zhao et al., ICCV 2019, Sec. 3: 2-second clips)."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.clips.codec import CLIP_CRF, CODECS, H264, JPEG
from transforms.clips.sampler import (
    CLIP_SECONDS,
    CLIP_STRIDE,
    FRAMES_PER_CLIP,
    JPEG_QUALITY,
    SHORT_SIDE,
)


@dataclass(frozen=True)
class ClipConfig:
    """How clips are cut: ``clip_seconds`` long, one every ``stride`` seconds, stored with
    their short side at ``short_side`` pixels: with ``codec`` "h264" (the default) every
    frame of the clip's span (``fps`` 0: the source's rate) or ``fps`` frames a second, as
    one H.264 video of quality ``crf``; with "jpeg" ``frames_per_clip`` frames evenly spaced,
    as JPEG of quality ``jpeg_quality`` (1..100)."""

    clip_seconds: float = CLIP_SECONDS
    stride: float = CLIP_STRIDE
    frames_per_clip: int = FRAMES_PER_CLIP
    short_side: int = SHORT_SIDE
    jpeg_quality: int = JPEG_QUALITY
    codec: str = H264
    fps: float = 0.0
    crf: int = CLIP_CRF

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
        if self.codec not in CODECS:
            raise ValueError(f"--clip_codec must be one of {', '.join(CODECS)}, not "
                             f"{self.codec!r}")
        if self.fps < 0:
            raise ValueError(f"--clip_fps must be >= 0 (0: the source's rate), not {self.fps}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"--clip_crf must be in 0..51, not {self.crf}")

    def stored_frames(self, frame_period: float) -> int | None:
        """Frames a clip stores from a video of nominal ``frame_period`` seconds: None for
        every decoded frame of its span (h264 at the source's rate)."""
        if self.codec == JPEG:
            return self.frames_per_clip
        return max(1, round(self.clip_seconds * self.fps)) if self.fps else None

    def stored_fps(self, frame_period: float) -> float:
        """The record's ``fps``: stored frames per second of clip."""
        frames = self.stored_frames(frame_period)
        return 1.0 / frame_period if frames is None else frames / self.clip_seconds


def add_clip_arguments(parser) -> None:
    """Add the clip options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--clip_seconds", type=float, default=CLIP_SECONDS,
                        help="Clip length in seconds (HACS Clips: 2-second clips).")
    parser.add_argument("--clip_stride", type=float, default=CLIP_STRIDE,
                        help="Seconds between clip starts (default: the clip length, so "
                             "clips are consecutive and do not overlap).")
    parser.add_argument("--frames_per_clip", type=int, default=FRAMES_PER_CLIP,
                        help="With --clip_codec jpeg: frames stored per clip, evenly spaced "
                             "(16 over 2 s: 8 fps).")
    parser.add_argument("--short_side", type=int, default=SHORT_SIDE,
                        help="Pixels of the stored frames' short side; frames are "
                             "downscaled, never upscaled (128: the C3D/R(2+1)D input size).")
    parser.add_argument("--jpeg_quality", type=int, default=JPEG_QUALITY,
                        help="With --clip_codec jpeg: JPEG quality (1..100) of stored frames.")
    parser.add_argument("--clip_codec", choices=CODECS, default=H264,
                        help="How clips store their frames: 'h264' (default), every frame of "
                             "the clip (or --clip_fps a second) as one H.264 video in MP4 "
                             "that decodes alone, what HACS trains on (32 frames of each "
                             "2-second clip) at a third of the bytes of 16 JPEG frames; "
                             "'jpeg', --frames_per_clip JPEG images (docs/outputs.md).")
    parser.add_argument("--clip_fps", type=float, default=0.0,
                        help=f"With --clip_codec {H264}: frames a second stored (0: every "
                             "frame at the source's rate; HACS trains on 32 frames of each "
                             "2-second clip, 16 fps).")
    parser.add_argument("--clip_crf", type=int, default=CLIP_CRF,
                        help=f"With --clip_codec {H264}: x264's constant rate factor (0..51, "
                             "lower is better quality and more bytes; x264's default 23).")


def clip_config_from_options(options) -> ClipConfig:
    """ClipConfig from options added by :func:`add_clip_arguments` (ValueError naming the
    option for a value that cannot work)."""
    return ClipConfig(clip_seconds=options.clip_seconds, stride=options.clip_stride,
                      frames_per_clip=options.frames_per_clip, short_side=options.short_side,
                      jpeg_quality=options.jpeg_quality, codec=options.clip_codec,
                      fps=options.clip_fps, crf=options.clip_crf)
