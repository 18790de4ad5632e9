"""How a run shows its progress: the Beam Metrics namespace of the job's counters, and lines on
stderr while a local run goes (Beam's own logging says little)."""

from __future__ import annotations

import os
import sys
import threading
import time

# The Beam Metrics namespace of the job's counters (the stages that count under their own
# name, ``dedup`` and ``persons``, keep theirs).
NAMESPACE = "hacs"


class Progress:
    """Progress lines on stderr for local runs, one stream per stage label: videos done out
    of the total, rate, clips so far. Counts are per worker process (a multi-process run
    prints one stream per worker)."""

    _lock = threading.Lock()
    _state: dict[str, list] = {}

    def __init__(self, total: int, label: str):
        self.total = total
        self.label = label
        with self._lock:
            self._state.setdefault(label, [0, 0, time.monotonic()])

    def video_done(self, video_id: str, clips: int, status: str) -> None:
        with self._lock:
            state = self._state[self.label]
            state[0] += 1
            state[1] += clips
            done, total_clips, start = state
        elapsed = max(time.monotonic() - start, 1e-9)
        rate = (f"{total_clips} clips, {total_clips / elapsed:.1f} clips/s" if total_clips
                else f"{done / elapsed:.2f} videos/s")
        sys.stderr.write(f"[hacs-pipeline {self.label} pid {os.getpid()}] "
                         f"{done} videos done ({self.total} input), {rate}; {video_id}: {status}"
                         f"{f' ({clips} clips)' if clips else ''}\n")
        sys.stderr.flush()
