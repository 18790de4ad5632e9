"""The jobs, each an Apache Beam pipeline with its command line (``cli.py``).

Beam is imported here, before any job module imports it, without pandas: its
``apache_beam.typehints`` imports pandas (about 0.3 CPU s, a tenth of a one-video job's
start-up) only to register pandas batch conversions, which no job here uses;
importing ``apache_beam.typehints.pandas_type_compatibility`` (as ``apache_beam.dataframe``
does) registers them. See ``transforms.imports``.
"""

from transforms.imports import import_without

import_without("apache_beam", "pandas")
