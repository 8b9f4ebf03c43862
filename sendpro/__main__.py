"""``python -m sendpro``."""

from sendpro.cli import run

run()
