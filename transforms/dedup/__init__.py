"""Stage 2, near-duplicate removal (HACS step 1): inside the collection, then against
reference sets (benchmark validation/test videos) in order.

- ``fingerprint.py``: frame hashes and the ``Fingerprinter`` consumer of the decode pass. No Beam.
- ``similarity.py``: frame distances, the duplicate decision, band keys, groups. No Beam.
- ``config.py``: ``DedupConfig`` and its command-line options.
- ``stage.py``: ``DropNearDuplicates`` (VideoFingerprint -> kept / dropped Outcome).
"""

_STAGE_EXPORTS = {
    "DropNearDuplicates": "transforms.dedup.stage",
}
__all__ = ["DropNearDuplicates"]


def __getattr__(name: str):
    # The Beam wiring is imported on first use, so that importing the algorithm modules of
    # this package (e.g. from a notebook or a tool) does not load Apache Beam.
    if name in _STAGE_EXPORTS:
        from importlib import import_module

        return getattr(import_module(_STAGE_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
