"""The output folder of a run, and how a run is published there atomically.

    <output>/dataset.json         the published run: written last, in one write (the commit
                                  point); names the run's folder and its exact shard files
    <output>/runs/<run id>/       one folder per attempt: shards and indexes, videos.jsonl,
                                  shots.jsonl, report.json, inputs.jsonl, the run's own
                                  dataset.json, fingerprints/fingerprints-*.jsonl (the kept
                                  videos' fingerprint index, which dataset.json names as
                                  ``fingerprints``: what a later run's --previous reads)
    <output>/work/<settings>/     per-video results of the analysis pass (kept when a run
                                  fails, for --resume; removed when it succeeds)

A run writes only inside its own run folder and the work folder until it is done; then
``publish`` writes ``dataset.json`` (a local file is written beside and renamed; a gs://
object appears whole when its upload ends), and only after that are the earlier runs'
folders removed. So readers that go through ``dataset.json`` always see one complete run: an
interrupted run, whatever it had written, is simply not published. Works on local paths and
any Beam FileSystems URI (gs:// has no rename: nothing here needs one).
"""

from __future__ import annotations

import json
import secrets
import time

from transforms.files import filesystems

DATASET = "dataset.json"
SHOTS = "shots.jsonl"   # one line per shot of every analysed video (docs/shots.md)
RUNS = "runs"
WORK = "work"
OURS = (DATASET, RUNS, WORK)


class OutputError(ValueError):
    """The output folder cannot take this run; the message says how to go on."""


def _children(folder: str) -> set[str]:
    """Names directly inside ``folder`` (files and folders)."""
    fs = filesystems()
    prefix = fs.join(folder, "")
    names = set()
    found = fs.match([fs.join(folder, "**")])[0].metadata_list
    for meta in found:
        rest = meta.path[len(prefix):] if meta.path.startswith(prefix) else meta.path
        if rest:
            names.add(rest.split("/")[0])
    return names


def new_run_id() -> str:
    """A run id that sorts by start time: ``YYYYmmdd-HHMMSS-<random>``."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def run_folder(output: str, run_id: str) -> str:
    return filesystems().join(output, RUNS, run_id)


def work_root(output: str) -> str:
    return filesystems().join(output, WORK)


def check_output(output: str, overwrite: bool, resume: bool) -> None:
    """Refuse an output folder that holds another run unless ``overwrite`` or ``resume`` say
    what to do with it, and any folder that holds files that are not a run's."""
    names = _children(output)
    if not names:
        return
    foreign = sorted(names - set(OURS))
    if foreign:
        raise OutputError(
            f"--output {output} holds files that are not a run's ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}): choose an empty or new folder")
    if not (overwrite or resume):
        what = "a published run" if DATASET in names else "an unfinished run"
        raise OutputError(
            f"--output {output} holds {what}. Give --resume to go on from the videos it "
            "finished (same inputs and settings), --overwrite to replace it (the old run "
            "stays readable until the new one is published), or another --output")


def published(output: str) -> dict | None:
    """The published ``dataset.json`` of ``output`` (a folder or the file), or None."""
    fs = filesystems()
    path = output if output.endswith(".json") else fs.join(output, DATASET)
    if not fs.exists(path):
        return None
    with fs.open(path) as f:
        return json.loads(f.read().decode("utf-8"))


def write_json_atomically(path: str, doc: dict) -> None:
    """Write a JSON document in one step: a local file is written beside and renamed over
    ``path``; on object stores a single upload is already all or nothing."""
    fs = filesystems()
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    if "://" in path and not path.startswith("file://"):
        with fs.create(path, mime_type="application/json") as f:
            f.write(data)
        return
    tmp = f"{path}.tmp-{secrets.token_hex(4)}"
    with fs.create(tmp, mime_type="application/json") as f:
        f.write(data)
    fs.rename([tmp], [path])


def remove_tree(folder: str) -> None:
    """Delete a folder (local or gs://) and everything in it, if it exists."""
    fs = filesystems()
    found = fs.match([fs.join(folder, "**")])[0].metadata_list
    if found:
        fs.delete([m.path for m in found])
    if fs.exists(folder):  # a local folder (object stores have none left)
        fs.delete([folder])


def remove_other_runs(output: str, keep: str | None) -> list[str]:
    """Delete every run folder of ``output`` but ``keep`` (a run id); returns those removed.
    Called after publishing (the earlier runs are no longer referenced) and before a run
    starts (folders of interrupted runs, Beam's temporary files inside them included)."""
    fs = filesystems()
    removed = []
    for name in sorted(_children(fs.join(output, RUNS))):
        if name != keep:
            remove_tree(fs.join(output, RUNS, name))
            removed.append(name)
    return removed


def publish(output: str, run_id: str, doc: dict) -> str:
    """Make run ``run_id`` the published run of ``output``: write its ``dataset.json`` (with
    ``run`` naming its folder) at the top, in one step; returns the path."""
    path = filesystems().join(output, DATASET)
    write_json_atomically(path, {**doc, "run": f"{RUNS}/{run_id}"})
    return path


def publish_run(output: str, run_id: str, extra: dict, keep_work: bool) -> str:
    """Publish the finished run ``run_id`` of ``output`` (see the module docstring): its
    ``dataset.json`` with ``extra`` (the report's paths) becomes the output's, then the other
    run folders and, unless ``keep_work``, the per-video results go. Returns the published
    ``dataset.json``'s path."""
    fs = filesystems()
    with fs.open(fs.join(run_folder(output, run_id), DATASET)) as f:
        dataset = json.loads(f.read().decode("utf-8"))
    path = publish(output, run_id, {**dataset, **extra})
    remove_other_runs(output, keep=run_id)
    if not keep_work:
        remove_tree(work_root(output))
    return path
