"""The download tests' internet: a misbehaving HTTP server on 127.0.0.1 per test."""

from __future__ import annotations

import pytest

from tests.download.server import TestServer


@pytest.fixture
def server():
    """A fresh server (its request counts start at zero), closed after the test."""
    srv = TestServer().start()
    yield srv
    srv.close()
