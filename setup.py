"""hacs-pipeline: raw web videos to a clean, training-ready human-action clip dataset.

Installable with ``pip install .``; also usable as Dataflow's ``--setup_file ./setup.py`` so
workers get the same packages.
"""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "requirements.txt")) as f:
    requirements = [line.strip() for line in f if line.strip() and not line.startswith("#")]

setup(
    name="hacs-pipeline",
    version="0.1.0",
    description="HACS-style video dataset pipeline on Apache Beam",
    python_requires=">=3.10",
    packages=find_packages(include=["pipelines*", "transforms*", "models*", "annotate*",
                                    "hacs_eval*"]),
    package_data={"annotate": ["static/*", "templates/*"]},
    install_requires=requirements,
)
