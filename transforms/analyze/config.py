"""Options of the analysis pass: per-video limits that end a video as failed (``too_long``,
``too_large``, ``timeout``) instead of letting one upload take a worker down or hold a job.

The defaults are sane bounds for web video, not numbers from the HACS paper: HACS videos are
YouTube uploads of minutes, at most HD.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_VIDEO_SECONDS = 4 * 3600.0
MAX_PIXELS = 3840 * 2160
MAX_DECODE_SECONDS = 7200.0


@dataclass(frozen=True)
class LimitsConfig:
    """Per-video limits of the decode pass (0: no limit): ``max_video_seconds`` of video
    (the header's duration before decoding, the decoded timestamps while decoding),
    ``max_pixels`` per frame (width * height, from the header) and ``max_decode_seconds`` of
    wall-clock time for a video's pass (decoding and the consumers fed by it)."""

    max_video_seconds: float = MAX_VIDEO_SECONDS
    max_pixels: int = MAX_PIXELS
    max_decode_seconds: float = MAX_DECODE_SECONDS

    def __post_init__(self) -> None:
        if not self.max_video_seconds >= 0:
            raise ValueError(f"--max_video_seconds must be >= 0 (0: no limit), "
                             f"not {self.max_video_seconds}")
        if self.max_pixels < 0:
            raise ValueError(f"--max_pixels must be >= 0 (0: no limit), not {self.max_pixels}")
        if not self.max_decode_seconds >= 0:
            raise ValueError(f"--max_decode_seconds must be >= 0 (0: no limit), "
                             f"not {self.max_decode_seconds}")


NO_LIMITS = LimitsConfig(0, 0, 0)


def add_limit_arguments(parser) -> None:
    """Add the per-video limits to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument("--max_video_seconds", type=float, default=MAX_VIDEO_SECONDS,
                        help="Longest video, in seconds, decoded; longer ones fail as "
                             "too_long, from the header's duration before decoding and from "
                             "the decoded timestamps while decoding (headers can lie). Default "
                             "4 hours: a sane bound for web video (HACS videos are minutes "
                             "long); 0: no limit.")
    parser.add_argument("--max_pixels", type=int, default=MAX_PIXELS,
                        help="Largest frame, width * height in pixels from the header; larger "
                             "videos fail as too_large before decoding (the frames a pass "
                             "holds at once would need GBs at 8K). Default 3840*2160, 4K UHD; "
                             "0: no limit.")
    parser.add_argument("--max_decode_seconds", type=float, default=MAX_DECODE_SECONDS,
                        help="Wall-clock seconds one video's decode pass may take; a decoder "
                             "that hangs or is pathologically slow fails as timeout. Default "
                             "7200 (2 hours): the longest video --max_video_seconds allows, "
                             "decoded at half real-time speed; 0: no limit.")


def limits_config_from_options(options) -> LimitsConfig:
    """LimitsConfig from options added by :func:`add_limit_arguments` (ValueError naming the
    option for a value that cannot work)."""
    return LimitsConfig(max_video_seconds=options.max_video_seconds,
                        max_pixels=options.max_pixels,
                        max_decode_seconds=options.max_decode_seconds)
