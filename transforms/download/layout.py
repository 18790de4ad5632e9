"""The output folder of the download job, and how a download run is published there.

    <output>/<class>/v_<id>.<ext>    a downloaded video, under the first of its classes (sorted),
                                     once, however many classes it has; a video without a
                                     class lies at the top, <output>/v_<id>.<ext>: the layout
                                     ``make_manifest`` and a glob ``--input`` read
    <output>/downloads.json          the published run: written last, in one write (the commit
                                     point); names its folder, manifest, downloads.jsonl, report
    <output>/runs/<run id>/          one folder per attempt: inputs.jsonl, downloads.jsonl,
                                     manifest.csv (what ``build_dataset --input`` takes),
                                     report.json
    <output>/work/<settings>/<id>.json  one record per downloaded video (its downloads.jsonl
                                     line), written once the file is in place: what --resume
                                     reads (kept after publishing, so that a later --resume
                                     retries only the failures; --overwrite removes it)

A video file appears under its final name only complete and checked: it is written into a
hidden folder beside it (``.v_<id>.partial-<random>/``) and renamed, or, on an object store,
uploaded in one request (an object appears whole when its upload ends). A killed run leaves
at most such a hidden folder, which the next run removes. Publishing follows the dataset
job's rules (``transforms.output.layout``): ``downloads.json`` is written last, and runs that
never published are removed when the next one starts.
"""

from __future__ import annotations

import glob
import os
import secrets

from transforms.files import filesystems
from transforms.inputs.manifest import V_PREFIX, VIDEO_EXTENSIONS
from transforms.output.layout import OutputError, remove_tree, write_json_atomically

PUBLISHED = "downloads.json"
MANIFEST = "manifest.csv"
DOWNLOADS = "downloads.jsonl"
REPORT = "report.json"
INPUTS = "inputs.jsonl"
RUNS = "runs"
WORK = "work"
PARTIAL = ".partial-"
MANIFEST_COLUMNS = ("video_id", "uri", "label", "subset", "classes")
CLASS_SEPARATOR = "|"  # between the classes of the manifest's ``classes`` column


def is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def local_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def class_folder(name: str) -> str:
    """A class name as a folder name: ``/`` and a leading ``.`` would change where it goes."""
    return name.replace("/", "_").lstrip(".") or "_"


def video_folder(output: str, classes: tuple[str, ...]) -> str:
    """The folder of a video with ``classes`` (sorted): the first one's, else ``output``."""
    return filesystems().join(output, class_folder(classes[0])) if classes else output


def video_path(output: str, video_id: str, classes: tuple[str, ...], ext: str) -> str:
    """``<output>/<first class>/v_<video_id>.<ext>`` (``<output>/v_<id>.<ext>`` without a
    class)."""
    return filesystems().join(video_folder(output, classes), f"{V_PREFIX}{video_id}.{ext}")


def staging_folder(output: str, video_id: str, classes: tuple[str, ...]) -> str | None:
    """A new hidden folder beside the video's final place, on the same disk (so the finished
    file is renamed into place), for a local ``output``; None for an object store (the file
    is uploaded from a local temporary folder)."""
    if not is_local(output):
        return None
    folder = os.path.join(local_path(video_folder(output, classes)),
                          f".{V_PREFIX}{video_id}{PARTIAL}{secrets.token_hex(4)}")
    os.makedirs(folder)
    return folder


def remove_staging_leftovers(output: str) -> list[str]:
    """Remove the hidden staging folders a killed run left in a local ``output``; returns
    them."""
    if not is_local(output):
        return []
    root = local_path(output)
    found = sorted(glob.glob(os.path.join(glob.escape(root), f".*{PARTIAL}*"))
                   + glob.glob(os.path.join(glob.escape(root), "*", f".*{PARTIAL}*")))
    for folder in found:
        remove_tree(folder)
    return found


def work_folder(output: str, digest: str) -> str:
    """Where the records of the videos downloaded with settings ``digest`` go."""
    return filesystems().join(output, WORK, digest)


def record_path(work: str, video_id: str) -> str:
    return filesystems().join(work, f"{video_id}.json")


def run_folder(output: str, run_id: str) -> str:
    return filesystems().join(output, RUNS, run_id)


def _exists_under(pattern: str) -> bool:
    return bool(filesystems().match([pattern], limits=[1])[0].metadata_list)


def check_download_output(output: str, overwrite: bool, resume: bool) -> None:
    """Refuse an ``output`` that holds files unless it holds a download run and
    ``overwrite`` or ``resume`` say what to do with it, as the dataset job does."""
    fs = filesystems()
    if not _exists_under(fs.join(output, "**")):
        return
    ours = (fs.exists(fs.join(output, PUBLISHED)) or _exists_under(fs.join(output, RUNS, "**"))
            or _exists_under(fs.join(output, WORK, "**")))
    if not ours:
        raise OutputError(f"--output {output} holds files that are not a download run's: "
                          "choose an empty or new folder")
    if not (overwrite or resume):
        what = ("a published download run" if fs.exists(fs.join(output, PUBLISHED))
                else "an unfinished download run")
        raise OutputError(
            f"--output {output} holds {what}. Give --resume to go on from the videos it "
            "downloaded (they are not fetched again), --overwrite to fetch every video again "
            "(the old run stays published until the new one is), or another --output")


def published(output: str) -> dict | None:
    """The published ``downloads.json`` of ``output``, or None."""
    import json

    fs = filesystems()
    path = fs.join(output, PUBLISHED)
    if not fs.exists(path):
        return None
    with fs.open(path) as f:
        return json.loads(f.read().decode("utf-8"))


def remove_other_runs(output: str, keep: str | None) -> list[str]:
    """Delete every run folder of ``output`` but ``keep`` (a run id); returns those removed."""
    fs = filesystems()
    runs = fs.join(output, RUNS)
    found = fs.match([fs.join(runs, "**")])[0].metadata_list
    prefix = fs.join(runs, "")
    names = sorted({m.path[len(prefix):].split("/")[0] for m in found
                    if m.path.startswith(prefix)})
    removed = []
    for name in names:
        if name and name != keep:
            remove_tree(fs.join(runs, name))
            removed.append(name)
    return removed


def publish(output: str, run_id: str) -> str:
    """Make run ``run_id`` the published run of ``output``: write ``downloads.json`` naming
    its folder and files, in one step; returns its path."""
    fs = filesystems()
    folder = run_folder(output, run_id)
    path = fs.join(output, PUBLISHED)
    write_json_atomically(path, {"run": f"{RUNS}/{run_id}",
                                 "manifest": fs.join(folder, MANIFEST),
                                 "downloads": fs.join(folder, DOWNLOADS),
                                 "report": fs.join(folder, REPORT)})
    return path


def stale_videos(output: str, keep: set[str]) -> list[str]:
    """Video files under ``output`` (at the top and one class folder down) that ``keep``
    (the published manifest's uris) does not name: what a run with --overwrite removes."""
    fs = filesystems()
    found = fs.match([fs.join(output, "*"), fs.join(output, "*", "*")])
    return sorted({m.path for result in found for m in result.metadata_list
                   if m.path.lower().endswith(VIDEO_EXTENSIONS)
                   and os.path.basename(m.path).startswith(V_PREFIX) and m.path not in keep})
