"""The clip stage's part of the decode pass: a candidate clip for every span of every shot,
cut while the video streams past (``sampler.ClipCutter``) and written to the video's results
as a record without label or person score; the clip stage later keeps those of kept shots
(``transforms.analyze.part``). No Beam."""

from __future__ import annotations

from transforms.analyze.part import AnalysisPart, VideoPass
from transforms.clips.config import ClipConfig
from transforms.clips.sampler import ClipCutter, SampledClip
from transforms.output.records import UNKNOWN_LABEL_ID, ClipRecord, make_clip_id, to_example
from transforms.types import VideoRef


def candidate_example(ref: VideoRef, clip: SampledClip, fps: float) -> bytes:
    """A candidate clip as a record without label or person score (set when kept)."""
    spec = clip.spec
    return to_example(ClipRecord(
        video_id=ref.video_id, clip_id=make_clip_id(ref.video_id, spec.start, spec.end),
        source_uri=ref.uri, start=spec.start, end=spec.end, fps=fps, height=clip.height,
        width=clip.width, frames=clip.frames, timestamps=clip.timestamps,
        label_id=UNKNOWN_LABEL_ID, shot_index=spec.shot_index, codec=clip.codec,
        video=clip.video))


class _Run:
    def __init__(self, cutter: ClipCutter, ref: VideoRef, fps: float):
        self.consumer = cutter
        self._ref = ref
        self._fps = fps

    def drain(self, writer) -> None:
        for clip in self.consumer.drain():
            writer.add_clip(clip.spec.shot_index, candidate_example(self._ref, clip, self._fps))

    def finish(self, stats) -> dict:
        self.consumer.finish(stats.first_time + stats.duration)
        return {}


class CandidateClipsPart(AnalysisPart):
    """Writes every candidate clip of each video to its results; put it after the shots
    part (clips never span a cut of ``VideoPass.shots``)."""

    name = "clips"
    config: ClipConfig

    def start(self, video: VideoPass) -> _Run:
        cfg = self.config
        cutter = ClipCutter(video.boundaries(self), video.frame_period, cfg.clip_seconds,
                            cfg.stride, cfg.stored_frames(video.frame_period),
                            cfg.short_side, cfg.jpeg_quality, cfg.codec, cfg.crf)
        return _Run(cutter, video.ref, cfg.stored_fps(video.frame_period))
