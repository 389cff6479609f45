"""Which catalog entries a change adds or edits, for `check --changed-since REF` on a pull request.

An entry counts as changed when its id is new, or when any of its fields reads differently from the catalog at
REF (comments and formatting do not count). The old catalog is read from git; one that is missing at REF or is
not YAML makes every entry count, which is the safe answer for a pre-merge check.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from monitor.models import Entry

# Fields an Entry keeps from the catalog (the rest of Entry, like `line`, is where it was, not what it says).
_FIELDS = ("section", "title", "url", "kind", "author", "status", "aliases", "expect", "watch", "notes")

# What the loader fills in for an absent field.
_DEFAULTS: dict[str, Any] = {"kind": "resource", "aliases": [], "expect": []}


class ChangedSinceError(Exception):
    """REF cannot be read (not a git checkout, unknown ref); the message says which."""


def old_catalog_text(ref: str, path: Path) -> str | None:
    """The catalog file as it was at `ref`, or None when the file did not exist there."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path.resolve().parent,
                             capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=top,
                       capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ChangedSinceError(f"--changed-since {ref}: not a commit in a git checkout around {path}") from exc
    rel = path.resolve().relative_to(Path(top).resolve()).as_posix()
    got = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=top, capture_output=True, text=True, check=False)
    return got.stdout if got.returncode == 0 else None


def changed_ids(entries: Iterable[Entry], old_text: str | None) -> list[str]:
    """Ids of `entries` that are new or read differently from the same id in `old_text`."""
    old = _old_entries(old_text)
    changed = []
    for entry in entries:
        before = old.get(entry.id) if old is not None else None
        if before is None or any(_norm(before.get(f, _DEFAULTS.get(f))) != _norm(getattr(entry, f)) for f in _FIELDS):
            changed.append(entry.id)
    return changed


def _old_entries(text: str | None) -> dict[str, dict[str, Any]] | None:
    if text is None:
        return None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    items = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    return {str(e["id"]): e for e in items if isinstance(e, dict) and "id" in e}


def _norm(value: Any) -> Any:
    # The catalog loader turns lists into tuples, enums into their values and absent lists into empty ones.
    if hasattr(value, "value") and not isinstance(value, (str, list, tuple)):
        value = value.value
    if isinstance(value, (list, tuple)):
        return tuple(_norm(v) for v in value)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
