"""The stages of the HACS method, one package each, in the order a video meets them:

- ``inputs/``  the manifest or glob, checked before the job starts
- ``analyze/`` the one decode pass per video, feeding every consumer below at once
- ``dedup/``   fingerprints (a consumer of the pass) and near-duplicate removal
- ``shots/``   the shot detector (a consumer of the pass)
- ``persons/`` frames per shot (a consumer of the pass), person scores, kept shots
- ``clips/``   2-second clips inside kept shots
- ``output/``  record format, TFRecord shards, run report

Each package holds its algorithm (plain numpy, no Beam) beside its Beam wiring (``stage.py``)
and its options (``config.py``), and exports its composite PTransform. ``types.py`` is the one
vocabulary: every element between stages and every status, reason and tag. ``routing.py``
holds the joins that carry a video from one stage to the next. The stages, the pipelines and
the tools share ``hacs_files.py`` (the HACS Clips CSV and Segments JSON), ``jpeg.py`` (the
codec of stored frames), ``files.py`` (Beam's FileSystems, imported on first use) and
``progress.py`` (the Metrics namespace, progress lines). docs/architecture.md draws it.
"""


def lazy_exports(package: str, exports: dict[str, str]):
    """A module ``__getattr__`` for ``package`` that imports each name of ``exports`` (name ->
    module) on first use: the stage packages export their Beam PTransform this way, so that
    importing their algorithm modules (from a notebook or a tool) does not load Apache Beam."""
    from importlib import import_module

    def __getattr__(name: str):
        if name in exports:
            return getattr(import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
