"""Constants shared by the annotation tests."""

CHROMIUM = "/usr/bin/chromium"
WEBM_FPS = 10.0  # frame rate of the test WebM videos
FRAME_SECONDS = 1.0 / WEBM_FPS
