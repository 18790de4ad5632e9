"""Annotation tools: a clip labelling tool and a segment marking tool in the browser, HACS
Clips CSV / Segments JSON import and export (see docs/annotate.md)."""
