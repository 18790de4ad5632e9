"""Stage 2, near-duplicate removal (HACS step 1): inside the collection, then against
reference sets (benchmark validation/test videos) in order.

- ``fingerprint.py``: frame hashes and the ``Fingerprinter`` consumer of the decode pass. No Beam.
- ``similarity.py``: frame distances, the duplicate decision, band keys, groups. No Beam.
- ``config.py``: ``DedupConfig`` and its command-line options.
- ``stage.py``: ``DropNearDuplicates`` (VideoFingerprint -> kept / dropped Outcome).
"""

from transforms import lazy_exports

__all__ = ["DropNearDuplicates"]
__getattr__ = lazy_exports(__name__, {
    "DropNearDuplicates": "transforms.dedup.stage",
})
