"""The download job's stage (``python -m pipelines.download_videos``): each listed video fetched
once into a folder the dataset job reads, every one ending downloaded or failed with a reason.

- ``sources.py``: what to download (a ``video_id,url`` manifest; labels files' YouTube ids).
- ``fetch.py``: one try at one video (yt-dlp, plain HTTP(S), Beam FileSystems) and the one
  mapping of every way of failing to a reason. No Beam.
- ``download.py``: one video start to end: retries, the decoder's check, the file put in its
  final place, the record --resume reads. No Beam.
- ``layout.py``: the output folder and how a run is published there; ``report.py`` the sums.
- ``stage.py``: ``DownloadVideos`` (DownloadTarget -> DownloadOutcome) and
  ``WriteDownloadResults`` (downloads.jsonl, manifest.csv, report.json).
"""

from transforms import lazy_exports

__all__ = ["DownloadVideos", "WriteDownloadResults"]
__getattr__ = lazy_exports(__name__, {
    "DownloadVideos": "transforms.download.stage",
    "WriteDownloadResults": "transforms.download.stage",
})
