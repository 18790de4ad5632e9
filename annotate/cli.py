"""Command line: ``python -m annotate <command> --db PATH ...``.

Commands: ``serve`` (the web app), ``add-annotator``, ``import-clips`` / ``export-clips``
(HACS Clips CSV), ``import-segments`` / ``export-segments`` (HACS Segments JSON),
``import-guidelines`` (per-class guideline JSON).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from apache_beam.io.filesystems import FileSystems

from annotate.app import DEFAULT_PAGE_SIZE, LOCAL_HOSTS, create_app
from annotate.formats import format_agreement_csv, parse_guidelines_json
from annotate.media import resolve_inside, scan_shards, scan_videos, video_duration
from annotate.store import DEFAULT_LEASE_SECONDS, ApiError, Store
from transforms.hacs_files import (
    FormatError,
    format_clips_csv,
    format_segments_json,
    missing_durations,
    parse_clips_csv,
    parse_segments_json,
)


def _read_text(path: str) -> str:
    with FileSystems.open(path, compression_type="uncompressed") as f:
        return f.read().decode("utf-8-sig")


def _write_text(path: str, text: str) -> None:
    with FileSystems.create(path, mime_type="text/plain",
                            compression_type="uncompressed") as f:
        f.write(text.encode("utf-8"))


def prepare(store: Store, shards: str | None, videos_root: str,
            strip_v_prefix: bool = True) -> tuple[int, int]:
    """Bring the database up to date with the shards and the videos root (paths, and the
    durations read from the files of videos whose duration is unknown); returns
    ``(new queued clips, video files found)``. ``strip_v_prefix``: see
    :func:`annotate.media.scan_videos`."""
    added = store.add_shard_clips(scan_shards(shards)) if shards else 0
    videos = scan_videos(videos_root, strip_v_prefix)
    store.set_video_paths(videos)
    durations = {}
    for video_id in store.videos_without_duration():
        path = resolve_inside(videos_root, videos[video_id])
        seconds = video_duration(path) if path else None
        if seconds is not None and seconds > 0:
            durations[video_id] = seconds
    store.set_video_durations(durations)
    return added, len(videos)


def _agreement_path(path: str) -> str:
    """Where ``export-clips PATH`` writes its agreement sidecar unless told:
    ``clips.csv`` -> ``clips.agreement.csv``."""
    return (path[:-4] if path.endswith(".csv") else path) + ".agreement.csv"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser
                 ) -> argparse.ArgumentParser:
    """The command line's parser, of class ``parser_class`` (docs/options.md is made with
    one that lists what is added to it)."""
    parser = parser_class(prog="python -m annotate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", required=True, help="SQLite database file (created if missing)")
        return p

    p = command("serve", "Start the annotation web app.")
    p.add_argument("--shards", default=None,
                   help="TFRecord clip shards (glob or directory) whose clips fill the queues")
    p.add_argument("--videos-root", required=True,
                   help="directory of browser-playable source videos named <video_id>.<ext> "
                        "or v_<video_id>.<ext> (as the HACS download tools save them), at "
                        "any depth, e.g. ROOT/<classname>/v_<id>.mp4")
    p.add_argument("--keep-v-prefix", action="store_true",
                   help="keep a leading v_ in file names as part of the video id (by default "
                        "it is dropped, as in the pipeline's glob input)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="a host name browsers reach the server by (the Host header, without "
                        "port), besides --host and " + ", ".join(LOCAL_HOSTS) + "; repeatable. "
                        "Other names are refused (against DNS rebinding)")
    p.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                   help=f"clips per page in the clip tool (default {DEFAULT_PAGE_SIZE})")
    p.add_argument("--lease-seconds", type=_positive_seconds, default=DEFAULT_LEASE_SECONDS,
                   help="how long a clip page stays reserved for its annotator, in seconds, "
                        "renewed while the page is open; an expired page's clips go back to "
                        f"the queue (default {DEFAULT_LEASE_SECONDS})")
    p.add_argument("--labels-per-clip", type=_positive_int, default=1, metavar="N",
                   help="how many different annotators label each clip (default 1); with "
                        "N > 1 the Clips CSV export keeps the majority label and writes the "
                        "votes and agreement beside it")
    p = command("add-annotator", "Create an annotator (or give them a new token).")
    p.add_argument("name", help="the annotator's name")
    p.add_argument("--token", default=None, help="the token to use (default: a random one)")
    for name, what in (("clips", "HACS Clips CSV"), ("segments", "HACS Segments JSON")):
        command(f"import-{name}", f"Load a {what} into the database.").add_argument(
            "path", help=f"the {what} file to load")
    p = command("export-clips", "Write the database's labels as HACS Clips CSV.")
    p.add_argument("path", help="the Clips CSV file to write")
    p.add_argument("--agreement", default=None, metavar="PATH",
                   help="also write the votes and agreement of every exported clip here "
                        "(default: written to PATH's .agreement.csv when some clip has "
                        "labels from more than one annotator)")
    p = command("export-segments", "Write the database's segments as HACS Segments JSON.")
    p.add_argument("path", help="the Segments JSON file to write")
    p.add_argument("--add-duration", action="store_true",
                   help="write a 'duration' into imported entries that had none, where the "
                        "server learned it (from the video file or the player); by default "
                        "imported entries keep exactly their keys")
    command("import-guidelines", "Load per-class guidelines (JSON).").add_argument(
        "path", help="the guidelines JSON file to load")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    store = Store(args.db, getattr(args, "lease_seconds", DEFAULT_LEASE_SECONDS),
                  getattr(args, "labels_per_clip", 1))
    try:
        if args.command == "serve":
            return _serve(store, args)
        if args.command == "add-annotator":
            print(store.add_annotator(args.name, args.token))
        elif args.command == "import-clips":
            n = store.import_clips(parse_clips_csv(_read_text(args.path), args.path), args.path)
            print(f"imported {n} clip labels from {args.path}")
        elif args.command == "export-clips":
            _export_clips(store, args.path, args.agreement)
        elif args.command == "import-segments":
            data = parse_segments_json(_read_text(args.path), args.path)
            print(f"imported {store.import_segments(data, args.path)} videos from {args.path}")
        elif args.command == "export-segments":
            data = store.export_segments()
            _write_text(args.path, format_segments_json(data, args.add_duration))
            print(f"exported {len(data.videos)} videos to {args.path}")
            learned = missing_durations(data)
            if learned:
                print(f"{len(learned)} imported videos had no duration; the server knows it "
                      f"now and {'added' if args.add_duration else 'did not add'} it "
                      f"({'' if args.add_duration else '--add-duration adds it; '}"
                      f"first: {learned[0]})")
        elif args.command == "import-guidelines":
            n = store.import_guidelines(parse_guidelines_json(_read_text(args.path), args.path))
            print(f"imported {n} guidelines from {args.path}")
    except (FormatError, ApiError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0


def _export_clips(store: Store, path: str, agreement: str | None) -> None:
    """The Clips CSV at ``path`` and, when asked or when some clip has several labels, the
    agreement sidecar, both from one read of the database (so their lines match even while
    a server writes)."""
    votes = store.export_clip_votes()
    _write_text(path, format_clips_csv(v.row for v in votes))
    print(f"exported {len(votes)} clip labels to {path}")
    several = [v for v in votes if len(v.votes) > 1]
    if agreement is None and not several:
        return
    agreement = agreement or _agreement_path(path)
    _write_text(agreement, format_agreement_csv(votes))
    unanimous = sum(1 for v in several if v.agreement == 1.0)
    print(f"agreement: {unanimous} of {len(several)} clips with labels from several "
          f"annotators are unanimous; votes in {agreement}")


def _serve(store: Store, args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    added, videos = prepare(store, args.shards, args.videos_root, not args.keep_v_prefix)
    print(f"{added} new clips queued; {videos} video files under {args.videos_root}",
          flush=True)
    server = make_server(args.host, args.port,
                         create_app(store, args.videos_root, args.page_size,
                                    (*LOCAL_HOSTS, args.host, *args.allowed_host)),
                         threaded=True)
    print(f"annotation tools at http://{args.host}:{server.server_port}/ (Ctrl-C stops)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
