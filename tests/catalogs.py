"""Catalog files for tests, written the way a maintainer would write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_catalog(path: Path, entries: list[dict[str, Any]] | dict[str, str], title: str = "Test Hub") -> Path:
    """A schema-1 catalog. `entries` are dicts with `id`, `url` and any optional keys, or a plain
    {id: url} mapping. Values are written as JSON, which YAML reads as the same scalars."""
    if isinstance(entries, dict):
        entries = [{"id": entry_id, "url": url} for entry_id, url in entries.items()]
    lines = ["version: 1", "hub:", f"  title: {title}", "entries:"]
    for e in entries:
        lines.append(f"  - id: {e['id']}")
        lines.append("    section: Test")
        lines.append(f"    title: {json.dumps(e.get('title', e['id']))}")
        lines.append(f"    url: {json.dumps(e.get('url'))}")
        for key in ("kind", "status", "aliases"):
            if key in e:
                lines.append(f"    {key}: {json.dumps(e[key])}")
    path.write_text("\n".join(lines) + "\n")
    return path
