"""Installed versions of the packages a result depends on, for manifests and records."""

from __future__ import annotations

from importlib import metadata


def versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """name -> installed version, or None when the package is not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
