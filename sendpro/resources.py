"""Where sendpro's declarative files (``schemas/``) are.

In a source checkout (and an editable install) they sit at the repository root;
a wheel carries them inside the package as ``sendpro/schemas``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def schemas_dir() -> Path:
    """Return the directory holding ``layouts/``, ``profiles/`` and ``maps/``."""
    packaged = _PACKAGE_DIR / "schemas"
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent / "schemas"
