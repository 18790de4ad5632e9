"""Stage 0, inputs: the manifest (CSV / JSON Lines) or a glob of videos, checked before the job
starts.

- ``manifest.py``: parsing, validation and the ``inputs.jsonl`` the job reads. No Beam.
"""
