"""Beam's FileSystems: one API for local paths, ``gs://`` and every other registered scheme.

Imported on first use, so that the modules that read and write files through it (the record
shards, the per-video results, the output folder, the gallery) and the tools that only read
records do not load Apache Beam when they are imported.
"""

from __future__ import annotations


def filesystems():
    """``apache_beam.io.filesystems.FileSystems`` (the class: its methods are static)."""
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def open_binary(path: str):
    """``path`` opened for reading as raw bytes (no decompression by its suffix)."""
    return filesystems().open(path, mime_type="application/octet-stream",
                              compression_type="uncompressed")
