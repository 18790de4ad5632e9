"""Beam stage: drop near-duplicate videos inside the collection, then those that match
reference sets (benchmark validation/test videos), with the evidence for each drop.

The algorithms live in ``transforms.dedup.similarity``; this module only wires them:

* candidates: every usable frame hash, and every crop-variant hash, is cut into bands; a video
  is keyed by the consistent sample of its ``(hash kind, band index, band bytes)`` keys
  (``similarity.sample_keys``: at most ``key_budget`` frame-hash keys and the variant keys
  under the same cut-off) and grouped; each bucket emits its video pairs
  (``similarity.bucket_pairs``: a video there by a frame hash with any other; two videos
  there by variants only are not paired, as variants are only compared with frame hashes),
  except hot buckets (more than ``hot_bucket_cap`` videos), which are counted and skipped.
  Pairs are counted and kept when they meet in ``min_shared_keys`` buckets, so the work is
  proportional to the candidates, never to all pairs.
* verification: the ids of the candidate pairs (a side input) select the fingerprints to
  group; two joins bring both fingerprints to each candidate pair; the exact vPDQ comparison
  decides. The collection's fingerprints wait once (``Settle``) for those side inputs.
* groups: verified internal pairs are few (one per re-upload), so they are collected into one
  list and resolved in a single ``DoFn`` with union-find (connected components, then the keep
  rule of ``similarity.KeepKey``); the drops reach the fingerprints as a side input. This
  is one step on one worker, bounded by the number of duplicate edges rather than videos; it
  avoids the many rounds an iterative label-propagation would need for long chains.
* earlier runs and references: the survivors are checked against the kept videos of every
  earlier run of the dataset being grown (``previous``), then every reference set (in
  parallel, the same candidate/verify steps); a video that matches several sets is removed
  by, and counted for, the first set in that order only. A video matching an earlier run is
  a ``duplicate`` (of the video that run kept), not a reference removal; one that matches no
  earlier video but whose id an earlier run kept fails (``id_taken``), as its clip ids would
  clash with that run's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.dedup.config import PreviousRun
from transforms.dedup.similarity import (
    BANDS,
    DEFAULT_PARAMS,
    HOT_BUCKET_CAP,
    BucketSide,
    Edge,
    KeepKey,
    MatchConfig,
    SetDecision,
    SetMatch,
    band_keys,
    bucket_pairs,
    compare,
    decide_against_sets,
    resolve_groups,
)
from transforms.types import Outcome, Reason, Stage, Status, Tag, VideoFingerprint

NAMESPACE = "dedup"  # Beam Metrics namespace of the stage's counters
INDEX_PREFIX = "fingerprints"  # file names of a fingerprint index: fingerprints-*.jsonl


def read_fingerprint_index(pipeline: beam.Pipeline, pattern: str,
                           label: str) -> beam.PCollection:
    """Fingerprints from JSON Lines files matching ``pattern`` (local or ``gs://``; a folder
    means its ``fingerprints*.jsonl`` shards), as written by
    ``pipelines/build_reference_index.py``. A malformed line fails the job: a reference set
    that silently lost videos would let benchmark videos through."""
    if "*" not in pattern and "?" not in pattern and not pattern.endswith(".jsonl"):
        pattern = pattern.rstrip("/") + f"/{INDEX_PREFIX}*.jsonl"
    return (pipeline
            | f"Read{label}" >> beam.io.ReadFromText(pattern)
            | f"Parse{label}" >> beam.Map(VideoFingerprint.from_json))


# A bucket member is one string: a marker character, then the video id. Upper case: a video of
# the input (left) side, lower case: of a reference set (right); F/f: a frame hash has this band
# key, V/v: only a crop variant has it. One short string per entry (rather than a tuple of
# strings and a flag) keeps the grouped buckets small in memory (benchmarks/RESULTS.md).
_FULL, _VARIANT = "F", "V"


def _band_entries(fp: VideoFingerprint, bands: int, params: MatchConfig,
                  right: bool = False, rate: float = 0.0) -> Iterator[tuple[bytes, str]]:
    """``(bucket key, member)`` per join key of a fingerprint (``similarity.band_keys``):
    the key is the hash kind, a NUL, the band index (one byte) and the band's bytes."""
    kind = fp.kind.encode() + b"\0"
    full, variant = (_FULL.lower(), _VARIANT.lower()) if right else (_FULL, _VARIANT)
    full_keys, variant_keys = band_keys(fp, params, bands, rate)
    for band, value in full_keys:
        yield kind + bytes((band,)) + value, full + fp.video_id
    for band, value in variant_keys:
        yield kind + bytes((band,)) + value, variant + fp.video_id


def _side(members: list[str], right: bool = False) -> BucketSide:
    """The videos of one side of a bucket, from its members' marks."""
    full_mark, variant_mark = (_FULL.lower(), _VARIANT.lower()) if right else (_FULL, _VARIANT)
    return BucketSide({m[1:] for m in members if m[0] == full_mark},
                      {m[1:] for m in members if m[0] == variant_mark})


class _BucketPairs(beam.DoFn):
    """Candidate pairs of one bucket (``similarity.bucket_pairs``): internal, or left x
    right (a reference set's join); nothing for a hot bucket, which is counted."""

    def __init__(self, cap: int, cross: bool, counter_prefix: str):
        self._cap = cap
        self._cross = cross
        self._hot = Metrics.counter(NAMESPACE, f"{counter_prefix}hot_buckets_skipped")

    def process(self, element) -> Iterator[tuple[str, str]]:
        _, members = element
        members = members if isinstance(members, list) else list(members)
        if len(members) < 2:  # most buckets: one random band value, one video
            return
        pairs, hot = bucket_pairs(_side(members), _side(members, right=True)
                                  if self._cross else None, self._cap)
        if hot:
            self._hot.inc()
        yield from pairs


def _count(counter_name: str):
    counter = Metrics.counter(NAMESPACE, counter_name)

    def inc(element):
        counter.inc()
        return element
    return inc


def _enough(pair_count, min_shared: int):
    pair, count = pair_count
    if count >= min_shared:
        yield pair


class _Candidates(beam.PTransform):
    """Distinct candidate pairs ``(left_id, right_id)`` from band buckets: the pairs that
    meet in at least ``params.min_shared_keys`` buckets. ``rate``: the left side also keys
    its frame-hash keys at that fixed rate (a reference set's join)."""

    def __init__(self, bands: int, params: MatchConfig, cap: int, prefix: str,
                 right: beam.PCollection | None = None, rate: float = 0.0):
        super().__init__()
        self._bands, self._params, self._cap, self._prefix = bands, params, cap, prefix
        self._right, self._rate = right, rate

    def expand(self, left):
        right = self._right
        entries = (left | "LeftBandKeys" >> beam.FlatMap(
            _band_entries, self._bands, self._params, rate=self._rate))
        if right is not None:
            ref_entries = right | "RightBandKeys" >> beam.FlatMap(
                _band_entries, self._bands, self._params, right=True)
            entries = (entries, ref_entries) | "AllBandKeys" >> beam.Flatten()
        return (entries
                | "GroupBuckets" >> beam.GroupByKey()
                | "BucketPairs" >> beam.ParDo(_BucketPairs(self._cap, right is not None,
                                                           self._prefix))
                | "CountSharedKeys" >> beam.combiners.Count.PerElement()
                | "EnoughSharedKeys" >> beam.FlatMap(_enough, self._params.min_shared_keys)
                | "CountCandidates" >> beam.Map(_count(f"{self._prefix}candidate_pairs")))


class _AttachLeft(beam.DoFn):
    def process(self, element) -> Iterator[tuple[str, VideoFingerprint]]:
        _, grouped = element
        for fp in grouped["fp"]:
            for right_id in grouped["pairs"]:
                yield right_id, fp


class _VerifyPairs(beam.DoFn):
    """Exact comparison of each candidate pair; emits ``(left_fp, right_fp, Match)`` for
    duplicates."""

    def __init__(self, params: MatchConfig, counter_name: str):
        self._params = params
        self._verified = Metrics.counter(NAMESPACE, counter_name)

    def process(self, element):
        _, grouped = element
        for right in grouped["fp"]:
            for left in grouped["left"]:
                match = compare(left, right, self._params)
                if match.duplicate:
                    self._verified.inc()
                    yield left, right, match


def _in_pairs(fp: VideoFingerprint, ids: dict) -> Iterator[tuple[str, VideoFingerprint]]:
    if fp.video_id in ids:
        yield fp.video_id, fp


class _Verify(beam.PTransform):
    """Join candidate pairs with both fingerprints and keep the verified duplicates.

    Only the fingerprints of videos in a candidate pair (a few in a hundred) are shuffled:
    the ids of each side are a side input that selects them, so the collection's
    fingerprints are not grouped (on the DirectRunner, not held a second and third time)."""

    def __init__(self, params: MatchConfig, counter_name: str, left: beam.PCollection,
                 right: beam.PCollection):
        super().__init__()
        self._params, self._counter = params, counter_name
        self._left, self._right = left, right

    def expand(self, pairs):
        def ids(side: int, label: str):
            return beam.pvalue.AsDict(
                pairs
                | f"{label}Ids" >> beam.Map(lambda pair: (pair[side], None))
                | f"Distinct{label}Ids" >> beam.combiners.Count.PerKey())

        left_by_id = self._left | "CandidateLeft" >> beam.FlatMap(_in_pairs, ids(0, "Left"))
        right_by_id = self._right | "CandidateRight" >> beam.FlatMap(_in_pairs,
                                                                     ids(1, "Right"))
        left_attached = (
            {"pairs": pairs, "fp": left_by_id}
            | "JoinLeft" >> beam.CoGroupByKey()
            | "AttachLeft" >> beam.ParDo(_AttachLeft()))
        return ({"left": left_attached, "fp": right_by_id}
                | "JoinRight" >> beam.CoGroupByKey()
                | "Compare" >> beam.ParDo(_VerifyPairs(self._params, self._counter)))


def _to_edge(verified) -> tuple[Edge, KeepKey, KeepKey]:
    a, b, match = verified
    return Edge(a.video_id, b.video_id, match.share_ab, match.share_ba), KeepKey.of(a), \
        KeepKey.of(b)


class _ResolveGroups(beam.DoFn):
    """All verified internal edges in, one decision per dropped video out."""

    def __init__(self):
        self._dropped = Metrics.counter(NAMESPACE, "duplicates_dropped")
        self._groups = Metrics.counter(NAMESPACE, "duplicate_groups")

    def process(self, edges: list) -> Iterator[tuple[str, dict]]:
        keys = {}
        for _, ka, kb in edges:
            keys[ka.video_id], keys[kb.video_id] = ka, kb
        drops = resolve_groups((e for e, _, _ in edges), keys)
        self._groups.inc(len({d.kept_video_id for d in drops}))
        for drop in drops:
            self._dropped.inc()
            evidence = {"kept_video_id": drop.kept_video_id, "score": drop.score}
            if drop.matched_video_id != drop.kept_video_id:
                evidence["matched_video_id"] = drop.matched_video_id
            yield drop.video_id, evidence


def _outcome(fp: VideoFingerprint, reason: Reason, message: str, evidence: dict) -> Outcome:
    return Outcome(video_id=fp.video_id, uri=fp.uri, status=Status.DROPPED, stage=Stage.DEDUP,
                   reason=reason, message=message, duration=fp.duration, evidence=evidence)


class _ApplyDuplicateDrops(beam.DoFn):
    """A fingerprint in, kept or (with the drop decision of its id) dropped out; the
    decisions (one per dropped video, few) are a side input."""

    def process(self, fp: VideoFingerprint, drops: dict):
        ev = drops.get(fp.video_id)
        if ev is not None:
            yield beam.pvalue.TaggedOutput(Tag.DROPPED, _outcome(
                fp, Reason.DUPLICATE, f"near-duplicate of {ev['kept_video_id']} "
                f"(share of frames matched {ev['score']:.2f})", ev))
        else:
            yield fp


def _match_outcome(fp: VideoFingerprint, against: str | PreviousRun, matched_id: str,
                   score: float, found: float) -> Outcome:
    """The drop of a video that matched ``matched_id`` of a reference set (named) or of an
    earlier run: a reference removal, or a duplicate of a video that run kept. ``score``:
    the share of the video's frames matched; ``found``: the share of the matched video's
    frames found in it (a reference clip inside a long video: high ``found``, low ``score``).
    """
    if isinstance(against, PreviousRun):
        return _outcome(fp, Reason.DUPLICATE, f"near-duplicate of {matched_id}, kept by the "
                        f"earlier run {against.run} of {against.output} (share of frames "
                        f"matched {score:.2f})",
                        {"previous": against.output, "run": against.run,
                         "kept_video_id": matched_id, "score": round(score, 4)})
    return _outcome(fp, Reason.REFERENCE, f"matches {matched_id} of reference set {against} "
                    f"(share of its frames found here {found:.2f}, share of this video's "
                    f"frames matched {score:.2f})",
                    {"set": against, "reference_id": matched_id, "score": round(score, 4),
                     "reference_share": round(found, 4)})


def _set_match(verified, set_index: int) -> tuple[str, SetMatch]:
    """A verified pair of a survivor and a video of the set ``set_index``, keyed by the
    survivor's id."""
    left, right, match = verified
    return left.video_id, SetMatch(set_index, right.video_id, match.share_ab, match.share_ba)


class _Decide(beam.DoFn):
    """Per survivor id that matched an earlier run or a reference set, or whose id an earlier
    run kept: ``(id, SetDecision)`` (``similarity.decide_against_sets``); nothing for the
    others."""

    def process(self, element) -> Iterator[tuple[str, SetDecision]]:
        video_id, grouped = element
        if grouped["survivor"] and (grouped["match"] or grouped["taken"]):
            yield video_id, decide_against_sets(grouped["match"], grouped["taken"])


class _ApplyMatches(beam.DoFn):
    """Removes a video that matched an earlier run or a reference set; fails a video that
    matched nothing but whose id an earlier run kept (its clips would get that run's clip
    ids). The decisions of the few videos concerned are a side input."""

    def __init__(self, sets: Sequence[str | PreviousRun]):
        self._sets = list(sets)
        self._removed = [Metrics.counter(NAMESPACE, "previous_duplicates_dropped"
                                         if isinstance(s, PreviousRun)
                                         else f"reference_{s}_removed") for s in sets]
        self._taken = Metrics.counter(NAMESPACE, "previous_id_taken")

    def process(self, fp: VideoFingerprint, decisions: dict[str, SetDecision]):
        video_id = fp.video_id
        decision = decisions.get(video_id, SetDecision())
        match = decision.removed_by
        if match is not None:
            self._removed[match.set_index].inc()
            yield beam.pvalue.TaggedOutput(Tag.DROPPED, _match_outcome(
                fp, self._sets[match.set_index], match.matched_id, match.score, match.found))
        elif decision.id_taken_by is not None:
            self._taken.inc()
            run = self._sets[decision.id_taken_by]
            yield beam.pvalue.TaggedOutput(Tag.FAILED, Outcome(
                video_id=video_id, uri=fp.uri, status=Status.FAILED, stage=Stage.DEDUP,
                reason=Reason.ID_TAKEN, duration=fp.duration,
                message=f"video_id {video_id} names another video (other content) that "
                        f"the earlier run {run.run} of {run.output} kept: its clip ids "
                        "would clash with that run's; give this video another id",
                evidence={"previous": run.output, "run": run.run}))
        else:
            yield fp


class Deduped(NamedTuple):
    """DropNearDuplicates' outputs: ``survivors`` (VideoFingerprint of the videos left),
    ``dropped`` and ``failed`` (Outcome), as its docstring says."""

    survivors: beam.PCollection
    dropped: beam.PCollection
    failed: beam.PCollection


class DropNearDuplicates(beam.PTransform):
    """Near-duplicate removal on a PCollection of ``VideoFingerprint``.

    ``references``: ``(name, source)`` pairs in priority order; ``source`` is a fingerprint
    index path/glob (JSON Lines, see ``read_fingerprint_index``) or a PCollection of
    ``VideoFingerprint``. ``previous``: earlier runs of the dataset being grown (their
    fingerprint indexes), checked first, before the reference sets. ``params``: the duplicate
    decision; ``bands``: hash bands for the candidate join (a frame pair within ``bands - 1``
    bits always shares a band); ``hot_bucket_cap``: buckets holding more videos than this are
    skipped.

    Returns Deduped: ``survivors`` (VideoFingerprint of the videos left), ``dropped``
    (``Outcome``: stage ``dedup``, reason ``duplicate`` with evidence
    ``{kept_video_id, score[, matched_video_id]}`` or, for a video an earlier run kept,
    ``{previous, run, kept_video_id, score}``; or reference with evidence
    ``{set, reference_id, score, reference_share}``: a reference clip whose share found in
    the video reaches ``params.contain`` removes it, whatever share of the video it covers
    (``params.reference_overlap``)) and ``failed`` (``Outcome`` of reason ``id_taken``: a
    video that matches no earlier video but whose id an earlier run kept, evidence
    ``{previous, run}``). ``score`` is the share (0..1) of the dropped video's usable frames
    that have a match in the video it was matched with, ``reference_share`` the share of the
    reference video's frames found in the dropped one.
    """

    def __init__(self, references: Sequence[tuple[str, str | beam.PCollection]] = (),
                 params: MatchConfig = DEFAULT_PARAMS, bands: int = BANDS,
                 hot_bucket_cap: int = HOT_BUCKET_CAP, previous: Sequence[PreviousRun] = ()):
        super().__init__()
        names = [name for name, _ in references]
        if len(set(names)) != len(names):
            raise ValueError(f"reference set names must be unique: {names}")
        bad = [n for n in names if not n.replace("_", "").replace("-", "").isalnum()]
        if bad:
            raise ValueError(f"reference set names must be letters, digits, - or _: {bad}")
        self._references = list(references)
        self._previous = list(previous)
        self._params = params
        self._bands = bands
        self._cap = hot_bucket_cap

    def expand(self, fingerprints: beam.PCollection) -> Deduped:
        pairs = fingerprints | "InternalCandidates" >> _Candidates(self._bands, self._params,
                                                                   self._cap, "")
        # the fingerprints wait here for the candidates (the side inputs below); one
        # materialised copy, read by the verification's selection and by the drop step
        settled = fingerprints | "Settle" >> beam.Reshuffle()
        drops = (pairs
                 | "InternalVerify" >> _Verify(self._params, "verified_pairs", settled,
                                               settled)
                 | "ToEdges" >> beam.Map(_to_edge)
                 | "CollectEdges" >> beam.combiners.ToList()
                 | "ResolveGroups" >> beam.ParDo(_ResolveGroups()))
        internal = (settled
                    | "ApplyDuplicateDrops" >> beam.ParDo(_ApplyDuplicateDrops(),
                                                          beam.pvalue.AsDict(drops))
                    .with_outputs(Tag.DROPPED, main=Tag.KEPT))
        survivors = internal[Tag.KEPT]
        dropped = [internal[Tag.DROPPED]]
        if self._references or self._previous:
            matched = self._against_sets(survivors)
            survivors = matched[Tag.KEPT]
            dropped.append(matched[Tag.DROPPED])
            failed = matched[Tag.FAILED]
        else:
            failed = fingerprints.pipeline | "NoIdClashes" >> beam.Create([])
        return Deduped(survivors, tuple(dropped) | "AllDropped" >> beam.Flatten(), failed)

    def _against_sets(self, survivors: beam.PCollection):
        """The survivors matched against each earlier run, then each reference set (in
        parallel, the same candidate/verify steps); the first set in that order takes a
        video. Step labels end in ``Previous<i>`` (earlier runs) or ``_<reference name>``."""
        pipeline = survivors.pipeline
        settled_survivors = survivors | "SettleSurvivors" >> beam.Reshuffle()
        sets = ([(f"Previous{i}", run.fingerprints, run) for i, run in enumerate(self._previous)]
                + [(f"_{name}", source, name) for name, source in self._references])
        matches, taken = [], []
        for index, (label, source, against) in enumerate(sets):
            previous = isinstance(against, PreviousRun)
            counter = "previous_" if previous else f"reference_{against}_"
            refs = (source if isinstance(source, beam.PCollection)
                    else read_fingerprint_index(pipeline, source,
                                                label if previous else f"Reference{label}"))
            # a reference set: a clip of it inside a long video is a match (the clip's share
            # decides, ``reference_overlap``), and the video keys at a fixed rate too, so
            # that the clip's shared keys do not shrink with the video's length
            params = self._params if previous else self._params.for_reference()
            pairs = survivors | f"Candidates{label}" >> _Candidates(
                self._bands, self._params, self._cap, counter, right=refs,
                rate=0.0 if previous else self._params.reference_key_rate)
            settled_refs = refs | f"Settle{label}" >> beam.Reshuffle()
            matches.append(
                pairs
                | f"Verify{label}" >> _Verify(params, f"{counter}verified_pairs",
                                              settled_survivors, settled_refs)
                | f"ToMatch{label}" >> beam.Map(_set_match, index))
            if previous:
                taken.append(refs | f"TakenIds{label}" >> beam.Map(
                    lambda f, i=index: (f.video_id, i)))
        # ids only are grouped (the survivors' fingerprints are not shuffled): the decisions
        # of the few videos that matched or whose id was taken become a side input
        joined = {"survivor": survivors | "SurvivorIds" >> beam.Map(
                      lambda f: (f.video_id, None)),
                  "match": tuple(matches) | "AllMatches" >> beam.Flatten(),
                  "taken": (tuple(taken) | "AllTakenIds" >> beam.Flatten()) if taken
                  else pipeline | "NoTakenIds" >> beam.Create([])}
        decisions = (joined
                     | "JoinMatches" >> beam.CoGroupByKey()
                     | "Decide" >> beam.ParDo(_Decide()))
        return (settled_survivors
                | "ApplyMatches" >> beam.ParDo(_ApplyMatches([a for _, _, a in sets]),
                                               beam.pvalue.AsDict(decisions))
                .with_outputs(Tag.DROPPED, Tag.FAILED, main=Tag.KEPT))


class WriteFingerprintIndex(beam.PTransform):
    """PCollection[VideoFingerprint] -> ``<folder>/fingerprints-SSSSS-of-NNNNN.jsonl`` (one
    ``VideoFingerprint.to_json`` per line: what ``read_fingerprint_index`` reads);
    ``num_shards`` 0 lets the runner decide. See :func:`index_pattern`."""

    def __init__(self, folder: str, num_shards: int = 0):
        super().__init__()
        self._folder = folder.rstrip("/")
        self._num_shards = num_shards

    def expand(self, fingerprints):
        return (fingerprints
                | "ToJson" >> beam.Map(lambda fp: fp.to_json())
                | "WriteIndex" >> beam.io.WriteToText(
                    f"{self._folder}/{INDEX_PREFIX}", file_name_suffix=".jsonl",
                    num_shards=self._num_shards))


def index_pattern(folder: str) -> str:
    """The glob of the index files :class:`WriteFingerprintIndex` writes into ``folder``."""
    return f"{folder.rstrip('/')}/{INDEX_PREFIX}-*.jsonl"
