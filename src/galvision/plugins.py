"""Plugins: packages declared in the entry-point group ``galvision.plugins`` are imported first."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

log = logging.getLogger(__name__)
GROUP = "galvision.plugins"


def load_plugins() -> list[str]:
    """Import every installed plugin so that its classes resolve by short ``class_path`` names."""
    loaded = []
    for entry in entry_points(group=GROUP):
        try:
            entry.load()
        except Exception as error:  # a broken plugin must not take the whole CLI down
            log.warning(
                "galvision plugin %r (%s) failed to load: %s", entry.name, entry.value, error
            )
            continue
        loaded.append(entry.name)
    return loaded
