"""The tree shows the architecture, and docs/architecture.md draws the pipeline the code builds.

- algorithm modules (everything under transforms/ but the Beam wiring) import no Beam, except
  Beam's FileSystems, the file I/O layer that gives them gs://;
- dependencies point one way: pipelines -> transforms (stages -> algorithms and formats);
  models -> transforms' formats; tools (annotate, hacs_eval) -> formats, never the stages;
- the diagram in docs/architecture.md is the graph of the default job's top-level steps.
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import apache_beam as beam
import pytest

ROOT = Path(__file__).resolve().parent.parent
WIRING = {"stage.py", "routing.py"}
IO_LAYER = "apache_beam.io.filesystems"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_algorithm_modules_import_no_beam():
    algorithms = [p for p in _modules("transforms") if p.name not in WIRING]
    assert len(algorithms) > 15
    offenders = {str(p.relative_to(ROOT)): name for p in algorithms for name in _imports(p)
                 if name.split(".")[0] == "apache_beam" and name != IO_LAYER}
    assert not offenders


@pytest.mark.parametrize(("folder", "forbidden"), [
    ("transforms", ("pipelines", "models", "annotate", "hacs_eval", "evaluate", "benchmarks",
                    "tests")),
    ("models", ("pipelines", "annotate", "hacs_eval", "evaluate", "benchmarks", "tests")),
    ("annotate", ("pipelines", "benchmarks", "tests")),
    ("pipelines", ("benchmarks", "tests")),
], ids=lambda v: v if isinstance(v, str) else "")
def test_dependencies_point_one_way(folder, forbidden):
    offenders = {str(p.relative_to(ROOT)): name for p in _modules(folder)
                 for name in _imports(p) if name.split(".")[0] in forbidden}
    assert not offenders


def test_the_decode_pass_imports_none_of_the_stages_that_ride_it():
    # AnalyzeVideos loops over the AnalysisParts the job gives it (transforms/analyze/part.py)
    modules = _modules("transforms/analyze")
    offenders = {str(p.relative_to(ROOT)): name for p in modules for name in _imports(p)
                 if name.split(".")[:2] in (["transforms", s] for s in
                                            ("dedup", "shots", "persons", "clips", "output"))
                 and name not in ("transforms.output.shards",)}
    assert len(modules) >= 4 and not offenders


def test_tools_use_the_formats_never_the_stages():
    tools = [p for folder in ("annotate", "hacs_eval", "evaluate") if (ROOT / folder).exists()
             for p in _modules(folder)]
    offenders = {str(p.relative_to(ROOT)): name for p in tools for name in _imports(p)
                 if name.startswith("transforms.") and
                 (name.endswith(".stage") or name == "transforms.routing")}
    assert tools and not offenders


def _top_level(applied):
    while applied.parent is not None and applied.parent.parent is not None:
        applied = applied.parent
    return applied


def _descendants(applied):
    yield applied
    for part in applied.parts:
        yield from _descendants(part)


def pipeline_mermaid(p: beam.Pipeline) -> str:
    """The top-level steps of ``p`` and the PCollections between them, as a Mermaid chart."""
    parts = p.transforms_stack[0].parts
    lines = ["flowchart TD"]
    for part in parts:
        lines.append(f"    {part.full_label}")
    edges = []
    for part in parts:
        for inner in _descendants(part):
            inputs = list(inner.main_inputs.values()) + [s.pvalue for s in inner.side_inputs]
            for pcoll in inputs:
                if getattr(pcoll, "producer", None) is None:
                    continue  # the pipeline's start (PBegin)
                producer = _top_level(pcoll.producer).full_label
                if producer != part.full_label and (producer, part.full_label) not in edges:
                    edges.append((producer, part.full_label))
    lines += [f"    {a} --> {b}" for a, b in edges]
    return "\n".join(lines)


def test_architecture_diagram_is_the_pipeline_the_code_builds(tmp_path):
    from apache_beam.options.pipeline_options import PipelineOptions

    from models.detectors import load_configured_detector
    from pipelines.build_dataset import BuildDatasetOptions, JobConfig, build
    from transforms.inputs.manifest import load_inputs

    index = tmp_path / "kinetics"
    index.mkdir()
    (index / "fingerprints-00000-of-00001.jsonl").write_text("")
    opts = PipelineOptions(["--input", str(ROOT / "tests/data/demo_manifest.csv"),
                            "--output", str(tmp_path / "out"),
                            "--reference", f"kinetics={index}"]).view_as(BuildDatasetOptions)
    cfg = JobConfig.from_options(opts)
    p = beam.Pipeline()
    build(p, opts, cfg, load_inputs(opts.input), time.time(),
          load_configured_detector(cfg.detector))
    drawn = re.search(r"```mermaid\n(.*?)\n```", (ROOT / "docs/architecture.md").read_text(),
                      re.S)
    assert drawn, "docs/architecture.md has no mermaid block"
    expected = pipeline_mermaid(p)
    assert drawn.group(1).strip() == expected, (
        "docs/architecture.md's diagram is not the pipeline build() wires; the current one "
        f"is:\n{expected}")


def test_stage_packages_export_their_transform_and_algorithms_load_without_beam():
    import subprocess
    import sys

    code = ("import sys\n"
            "import transforms.dedup.fingerprint, transforms.dedup.similarity, "
            "transforms.shots.histogram, transforms.shots.transnet, transforms.persons.sampling, "
            "transforms.clips.sampler, transforms.dedup.part, transforms.shots.part, "
            "transforms.persons.part, transforms.clips.part, transforms.output.part, "
            "transforms.output.records, transforms.output.report, transforms.dedup, "
            "transforms.clips\n"
            "assert 'apache_beam' not in sys.modules, 'an algorithm import loaded Beam'\n"
            "from transforms.analyze import AnalyzeVideos\n"
            "from transforms.clips import KeepClips\n"
            "from transforms.dedup import DropNearDuplicates\n"
            "from transforms.output import WriteClipShards, WriteRunReport\n"
            "from transforms.persons import ScorePersons, SelectPersonShots\n"
            "import apache_beam as beam\n"
            "assert all(issubclass(t, beam.PTransform) for t in (AnalyzeVideos, KeepClips, "
            "DropNearDuplicates, WriteClipShards, WriteRunReport, ScorePersons, "
            "SelectPersonShots))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
