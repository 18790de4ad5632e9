"""Options of the near-duplicate stage: its config dataclass and the function that fills it
from the command line. The defaults were chosen on ``benchmarks/bench_dedup_accuracy.py`` and
``bench_dedup_scale.py``; the measurements behind each are in docs/dedup.md (Options)."""

from __future__ import annotations

from dataclasses import dataclass, field

from transforms.dedup.fingerprint import FINGERPRINT_FPS, HASHERS, MIN_QUALITY
from transforms.dedup.similarity import (
    BANDS,
    CONTAIN_SHARE,
    HOT_BUCKET_CAP,
    KEY_BUDGET,
    MATCH_DISTANCE,
    MIN_SHARED_KEYS,
    OVERLAP_SHARE,
    REFERENCE_KEY_RATE,
    REFERENCE_OVERLAP_SHARE,
    VARIANT_KEY_BUDGET,
    VARIANT_KEY_STRIDE,
    MatchConfig,
)
from transforms.types import DEFAULT_KIND, HASH_BYTES


@dataclass(frozen=True)
class PreviousRun:
    """An earlier run of the dataset being grown (``--previous``): its output folder, its
    published run folder there (``runs/<run id>``) and the fingerprint index (a glob) of the
    videos it kept."""

    output: str
    run: str
    fingerprints: str


@dataclass(frozen=True)
class FingerprintConfig:
    """What a fingerprint holds (the settings that change the analysis pass's fingerprints:
    the config of ``transforms.dedup.part.FingerprintPart``): ``fps`` frames hashed per
    second, ``kind`` the frame hash, ``crop_variants`` hash crop windows of each frame too."""

    fps: float = FINGERPRINT_FPS
    kind: str = DEFAULT_KIND
    crop_variants: bool = True

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise ValueError(f"--dedup_fps must be > 0, not {self.fps}")

    @classmethod
    def from_options(cls, options) -> FingerprintConfig:
        """From ``--dedup_fps``, ``--dedup_hash`` and ``--dedup_crop_variants``."""
        return cls(fps=options.dedup_fps, kind=options.dedup_hash,
                   crop_variants=options.dedup_crop_variants == "on")


@dataclass(frozen=True)
class DedupConfig:
    """What the fingerprints hold and how duplicates are decided.

    ``fingerprint``: what the analysis pass hashes; ``references``: ``(name, index path)`` pairs in
    priority order; ``previous``: earlier runs of the dataset, checked before the reference
    sets (their videos count as kept videos of this collection); ``match``: the duplicate
    decision; ``bands``: hash bands of the candidate
    join; ``hot_bucket_cap``: buckets shared by more videos than this are skipped.
    """

    fingerprint: FingerprintConfig = field(default_factory=FingerprintConfig)
    references: tuple[tuple[str, str], ...] = ()
    previous: tuple[PreviousRun, ...] = ()
    match: MatchConfig = field(default_factory=MatchConfig)
    bands: int = BANDS
    hot_bucket_cap: int = HOT_BUCKET_CAP

    @property
    def kind(self) -> str:
        """The frame hash of the fingerprints (never compared across kinds)."""
        return self.fingerprint.kind

    def __post_init__(self) -> None:
        bits = 8 * HASH_BYTES[self.kind]
        m = self.match
        checks = [
            (0 <= m.distance <= bits,
             f"--dedup_distance must be 0..{bits} bits, not {m.distance}"),
            (0 <= m.min_quality <= 100,
             f"--dedup_min_quality must be 0..100, not {m.min_quality}"),
            (0 < m.contain <= 1, f"--dedup_contain must be in (0, 1], not {m.contain}"),
            (0 < m.overlap <= 1, f"--dedup_overlap must be in (0, 1], not {m.overlap}"),
            (0 <= m.reference_overlap <= 1,
             f"--dedup_reference_overlap must be in [0, 1], not {m.reference_overlap}"),
            (0 <= m.reference_key_rate <= 1,
             f"--dedup_reference_key_rate must be in [0, 1], not {m.reference_key_rate}"),
            (m.variant_key_stride >= 1,
             f"--dedup_variant_key_stride must be >= 1, not {m.variant_key_stride}"),
            (m.key_budget >= 0, f"--dedup_key_budget must be >= 0, not {m.key_budget}"),
            (m.min_shared_keys >= 1,
             f"--dedup_min_shared_keys must be >= 1, not {m.min_shared_keys}"),
            (m.variant_key_budget >= 0,
             f"--dedup_variant_key_budget must be >= 0, not {m.variant_key_budget}"),
            (self.bands >= 1 and HASH_BYTES[self.kind] % self.bands == 0,
             f"--dedup_bands must divide the {HASH_BYTES[self.kind]} bytes of a "
             f"{self.kind} hash, not {self.bands}"),
            (self.hot_bucket_cap >= 2,
             f"--dedup_hot_bucket_cap must be >= 2, not {self.hot_bucket_cap}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def parse_reference(spec: str) -> tuple[str, str]:
    """``NAME=PATH`` (a ``--reference`` value) -> ``(NAME, PATH)``."""
    name, sep, path = spec.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ValueError(f"--reference expects NAME=PATH, got {spec!r}")
    return name.strip(), path.strip()


def add_fingerprint_arguments(parser) -> None:
    """The options that decide what a fingerprint holds (shared by the dataset job and the
    reference-index builder, so that both make comparable fingerprints)."""
    parser.add_argument("--dedup_fps", type=float, default=FINGERPRINT_FPS,
                        help="Frames fingerprinted per second of video.")
    parser.add_argument("--dedup_hash", default=DEFAULT_KIND, choices=sorted(HASHERS),
                        help="Frame hash: phash256 (numpy, centre-weighted, with crop "
                             "variants), the one kind: the accuracy benchmark chose it over "
                             "PDQ and the classic 64-bit pHash (docs/dedup.md).")


def add_dedup_arguments(parser) -> None:
    """Add the near-duplicate options to a ``PipelineOptions._add_argparse_args`` parser."""
    parser.add_argument(
        "--reference", action="append", default=[],
        help="NAME=PATH of a reference fingerprint index (a folder or glob of JSON Lines "
             "written by python -m pipelines.build_reference_index); repeat in priority "
             "order, e.g. kinetics, activitynet, ucf101, hmdb51. A video matching several "
             "sets is removed and counted by the first.")
    add_fingerprint_arguments(parser)
    parser.add_argument(
        "--dedup_distance", type=int, default=MATCH_DISTANCE,
        help="Largest Hamming distance, in bits of the hash, of two matching frames (vPDQ "
             "uses 31 of 256).")
    parser.add_argument(
        "--dedup_contain", type=float, default=CONTAIN_SHARE,
        help="Two videos are duplicates when the larger of their two frame-match shares "
             "(0..1) reaches this...")
    parser.add_argument(
        "--dedup_overlap", type=float, default=OVERLAP_SHARE,
        help="...and the smaller share (0..1) reaches this (a copy trimmed to half the "
             "original has a share of about 0.5).")
    parser.add_argument(
        "--dedup_reference_overlap", type=float, default=REFERENCE_OVERLAP_SHARE,
        help="Against a reference set, the smaller share need only reach this (0..1): with "
             "0, a reference clip whose share found in a video reaches --dedup_contain "
             "removes it, however long the video (a 10 s Kinetics clip inside a 3-minute "
             "YouTube video covers 5%% of it).")
    parser.add_argument(
        "--dedup_reference_key_rate", type=float, default=REFERENCE_KEY_RATE,
        help="Against a reference set, a collection video also keys every frame-hash band "
             "key in this lowest part (0..1) of the key space: a fixed rate, so that a short "
             "reference clip inside a long video still shares keys with it (0: the "
             "--dedup_key_budget sample only; 0.25 costs about 240 keys per video-minute).")
    parser.add_argument(
        "--dedup_crop_variants", choices=("on", "off"), default="on",
        help="on: a frame also matches the other video's crop-variant hashes (13 "
             "sub-windows per frame), so copies cropped by up to 10%% match; off: variants "
             "are neither keyed nor compared (a cheaper join).")
    parser.add_argument(
        "--dedup_variant_key_stride", type=int, default=VARIANT_KEY_STRIDE,
        help="The candidate join keys the crop variants of every n-th usable frame only "
             "(verification compares them all).")
    parser.add_argument(
        "--dedup_key_budget", type=int, default=KEY_BUDGET,
        help="Frame-hash band keys the candidate join keeps per video: the same "
             "pseudo-random sample of the key space for every video, so the join's keys "
             "and shuffle stop growing with video length (0: every key).")
    parser.add_argument(
        "--dedup_variant_key_budget", type=int, default=VARIANT_KEY_BUDGET,
        help="Crop-variant band keys the join keeps per video: those under the cut-off of "
             "the video's frame-hash sample (the same sampling rate), at most this many "
             "(0: every key).")
    parser.add_argument(
        "--dedup_min_shared_keys", type=int, default=MIN_SHARED_KEYS,
        help="Two videos become a candidate pair when they share at least this many kept "
             "join keys (1: any; random collisions grow with the square of the collection).")
    parser.add_argument(
        "--dedup_min_quality", type=int, default=MIN_QUALITY,
        help="Frames whose quality (0..100, PDQ's gradient measure) is below this are not "
             "matched: black leaders, fades, solid cards (vPDQ: 50).")
    parser.add_argument(
        "--dedup_bands", type=int, default=BANDS,
        help="Hash bands of the candidate join (must divide the hash's bytes): a frame "
             "pair within bands-1 bits always becomes a candidate.")
    parser.add_argument(
        "--dedup_hot_bucket_cap", type=int, default=HOT_BUCKET_CAP,
        help="Join buckets (one band value) shared by more videos than this are skipped and "
             "counted (dedup/hot_buckets_skipped).")


def dedup_config_from_options(options) -> DedupConfig:
    """DedupConfig from options added by :func:`add_dedup_arguments` (ValueError naming the
    option for a value that cannot work)."""
    fingerprint = FingerprintConfig.from_options(options)
    match = MatchConfig(distance=options.dedup_distance,
                        min_quality=options.dedup_min_quality,
                        contain=options.dedup_contain, overlap=options.dedup_overlap,
                        crop_variants=fingerprint.crop_variants,
                        variant_key_stride=options.dedup_variant_key_stride,
                        key_budget=options.dedup_key_budget,
                        variant_key_budget=options.dedup_variant_key_budget,
                        min_shared_keys=options.dedup_min_shared_keys,
                        reference_overlap=options.dedup_reference_overlap,
                        reference_key_rate=options.dedup_reference_key_rate)
    return DedupConfig(fingerprint=fingerprint,
                       references=tuple(parse_reference(r) for r in options.reference or ()),
                       match=match, bands=options.dedup_bands,
                       hot_bucket_cap=options.dedup_hot_bucket_cap)
