"""`hub-monitor fix`: apply the JSON report's proposals to the catalog, changing only the edited fields.

The report proposes, per entry, one change per field (`proposals`: a moved URL, a new status line, an alias) and,
for the hub page as a whole, entries to add or flag (`hub_proposals`). This module turns the ones it is sure of
into text edits of the catalog file and leaves every other byte alone.

Why text edits and not a round-trip YAML library: ruamel.yaml (0.18, `preserve_quotes`, width 4096, the
file's indentation guessed) loads and dumps the bundled catalog with 3 lines changed (`url: null` becomes
`url:`) and the unusual-quoting fixture with 1 (`maintainer: ~` becomes `maintainer:`), before any edit. The
catalog is composed with PyYAML anyway (yamlcheck.py), and its nodes carry the exact character span of every
value, so an edit replaces exactly that span and nothing else can move.

    plan_fixes(text, report, ...) -> FixPlan   (pure: the new text, what was applied, what was skipped and why)

The caller validates `FixPlan.text` with the catalog loader before writing it (see cli.py).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Kinds of change, as `--only` names them: a finding code behind a proposal, or one of these words.
KINDS = ("url", "status", "aliases", "add-entry", "remove-entry")
# The comment that flags an entry the hub page no longer lists; the marker keeps a second run from repeating it.
REMOVED_MARK = "# hub-monitor: "
# Key order for an added entry: the order of the schema in README.
_ENTRY_ORDER = ("id", "section", "title", "url", "kind", "author", "status", "aliases", "expect", "watch", "notes")


@dataclass(frozen=True)
class Change:
    """One proposal as `fix` sees it, applied or not."""

    kind: str  # one of KINDS
    entry_id: str
    current: str | None
    new: str | None
    codes: tuple[str, ...]
    why: str
    sure: bool = True
    hub_current: str | None = None
    hub_new: str | None = None
    line: int | None = None
    # The catalog fields of an entry to add (add-entry only); not part of equality or hashing.
    entry: Mapping[str, Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.kind == "add-entry":
            return f"{self.entry_id}: add the entry the hub page lists ({self.new})"
        if self.kind == "remove-entry":
            return f"{self.entry_id}: flag as no longer on the hub page"
        if self.kind == "aliases":
            return f"{self.entry_id}: add alias {self.new}"
        old = "nothing" if self.current is None else repr(self.current)
        return f"{self.entry_id}: {self.kind} {old} -> {self.new!r}"


@dataclass
class FixPlan:
    original: str
    text: str
    applied: list[Change] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self, path: str) -> str:
        # git's a/ b/ prefixes for a path in the repository; an absolute path is shown as it is.
        old, new = (path, path) if path.startswith("/") else (f"a/{path}", f"b/{path}")
        lines = difflib.unified_diff(
            self.original.splitlines(keepends=True), self.text.splitlines(keepends=True), fromfile=old, tofile=new,
        )  # fmt: skip
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)

    def render(self) -> str:
        lines = [f"{len(self.applied)} change(s) applied, {len(self.skipped)} skipped."]
        lines += [f"  applied  {c.describe()}" for c in self.applied]
        lines += [f"  skipped  {c.describe()}: {reason}" for c, reason in self.skipped]
        return "\n".join(lines)


class FixError(Exception):
    """The catalog cannot be edited as asked (not a catalog we can find entries in)."""


# ---------------------------------------------------------------------------------------- proposals


def read_changes(report: Mapping[str, Any]) -> list[Change]:
    """Every proposal of a JSON report as a Change, entries in report order, then the hub's proposals."""
    changes: list[Change] = []
    for entry in report.get("entries", []):
        for p in entry.get("proposals") or []:
            changes.append(_entry_change(str(entry.get("id")), p))
    for p in report.get("hub_proposals") or []:
        action = str(p.get("action"))
        entry = p.get("entry") if isinstance(p.get("entry"), Mapping) else None
        changes.append(Change(
            kind=action if action in ("add-entry", "remove-entry") else f"unknown action {action!r}",
            entry_id=str(p.get("id")),
            current=None,
            new=(entry or {}).get("url") if action == "add-entry" else None,
            codes=("hub-drift",),
            why=str(p.get("why") or ""),
            entry=dict(entry) if entry is not None else None,
        ))  # fmt: skip
    return changes


def _entry_change(entry_id: str, p: Mapping[str, Any]) -> Change:
    field_name, action = p.get("field"), p.get("action")
    kind = str(field_name) if (field_name, action) in (("url", "set"), ("status", "set"), ("aliases", "add")) \
        else f"unknown proposal {field_name!r}/{action!r}"
    return Change(
        kind=kind,
        entry_id=entry_id,
        current=p.get("current"),
        new=p.get("new"),
        codes=tuple(str(c) for c in p.get("codes") or ()),
        why=str(p.get("why") or ""),
        sure=p.get("sure") is True,
        hub_current=p.get("hub_current"),
        hub_new=p.get("hub_new"),
        line=p.get("catalog_line") if isinstance(p.get("catalog_line"), int) else None,
    )


def _wanted(change: Change, only: Collection[str] | None) -> bool:
    return only is None or change.kind in only or any(code in only for code in change.codes)


# ---------------------------------------------------------------------------------------- the file


@dataclass
class _Edit:
    start: int
    end: int
    text: str


@dataclass
class _Tree:
    text: str
    entries: SequenceNode
    by_id: dict[str, MappingNode]

    def line_end(self, index: int) -> int:
        """Index just past the newline of the line holding `index` (a trailing comment stays on its line)."""
        nl = self.text.find("\n", index)
        return len(self.text) if nl < 0 else nl + 1

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1


def _compose(text: str) -> _Tree:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise FixError(f"the catalog is not valid YAML: {exc}") from None
    entries = _get(root, "entries") if isinstance(root, MappingNode) else None
    if not isinstance(entries, SequenceNode):
        raise FixError("the catalog has no `entries:` list")
    by_id: dict[str, MappingNode] = {}
    for node in entries.value:
        if isinstance(node, MappingNode):
            id_node = _get(node, "id")
            if isinstance(id_node, ScalarNode):
                by_id.setdefault(id_node.value, node)
    return _Tree(text, entries, by_id)


def _get(mapping: Node, key: str) -> Node | None:
    if not isinstance(mapping, MappingNode):
        return None
    for k, v in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return v
    return None


def _key(mapping: MappingNode, key: str) -> ScalarNode | None:
    for k, _ in mapping.value:
        if isinstance(k, ScalarNode) and k.value == key:
            return k
    return None


def _value(node: Node | None) -> Any:
    """The plain value of a scalar or a list of scalars, as the safe loader reads it."""
    if node is None:
        return None
    return yaml.safe_load(yaml.serialize(node))


def _content_end(tree: _Tree, node: Node) -> int:
    """Index just past the last non-blank character of a node's span (block nodes swallow trailing blank lines)."""
    span = tree.text[node.start_mark.index : node.end_mark.index]
    return node.start_mark.index + len(span.rstrip())


# ---------------------------------------------------------------------------------------- scalars


def _plain_ok(value: str, in_flow: bool) -> bool:
    if not value or value != value.strip() or "\n" in value or any(ord(c) < 32 for c in value):
        return False
    if in_flow and any(c in value for c in ",[]{}"):
        return False
    try:
        return yaml.safe_load(value) == value and value[0] not in "'\"&*!|>%@`{[?-#,"
    except yaml.YAMLError:
        return False


def _double(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar with the same value.
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: str, like: ScalarNode | None, tree: _Tree, in_flow: bool) -> str:
    """`value` written in the style of the scalar it replaces (plain, quoted or block), or safely quoted."""
    style = like.style if like is not None else None
    if style == "'" and "\n" not in value and not any(ord(c) < 32 for c in value):
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return _double(value)
    if style in ("|", ">") and like is not None and _plain_ok(value, False):
        body = tree.text[like.start_mark.index : like.end_mark.index]
        first = next((ln for ln in body.splitlines()[1:] if ln.strip()), None)
        indent = len(first) - len(first.lstrip(" ")) if first else like.start_mark.column + 2
        # The chomping indicator "-" keeps the one-line value free of a trailing newline, as the old `>-` was.
        return f"{style}-\n{' ' * indent}{value}"
    return value if _plain_ok(value, in_flow) else _double(value)


def _flow_list(values: Iterable[str], tree: _Tree, like: ScalarNode | None = None) -> str:
    """A flow list whose items are quoted like `like` (the URL they come from), or plain where safe."""
    return "[" + ", ".join(_scalar(v, like, tree, True) for v in values) + "]"


# ---------------------------------------------------------------------------------------- planning


def plan_fixes(text: str, report: Mapping[str, Any], *, only: Collection[str] | None = None) -> FixPlan:
    """The catalog text with every sure proposal applied; unsure, stale or inapplicable ones are skipped."""
    tree = _compose(text)
    plan = FixPlan(original=text, text=text)
    edits: list[_Edit] = []
    per_entry: dict[str, list[Change]] = {}
    for change in read_changes(report):
        if not _wanted(change, only):
            continue
        if not change.sure:
            plan.skipped.append((change, f"not sure ({change.why})" if change.why else "not sure"))
        elif change.kind.startswith("unknown"):
            plan.skipped.append((change, f"{change.kind}: this hub-monitor cannot apply it"))
        elif change.kind in ("add-entry", "remove-entry"):
            _plan_hub_change(tree, change, plan, edits)
        else:
            per_entry.setdefault(change.entry_id, []).append(change)
    for entry_id, changes in per_entry.items():
        _plan_entry(tree, entry_id, changes, plan, edits)
    plan.text = _apply(text, edits)
    return plan


def _plan_entry(tree: _Tree, entry_id: str, changes: list[Change], plan: FixPlan, edits: list[_Edit]) -> None:
    node = tree.by_id.get(entry_id)
    if node is None:
        plan.skipped += [(c, f"no entry {entry_id!r} in the catalog") for c in changes]
        return
    aliases_now = _value(_get(node, "aliases")) or []
    if not isinstance(aliases_now, list):
        aliases_now = []
    new_aliases: list[str] = []
    new_url: str | None = None
    for change in changes:
        if not isinstance(change.new, str) or not change.new.strip():
            plan.skipped.append((change, "the proposal has no new value"))
            continue
        now = _value(_get(node, change.kind)) if change.kind != "aliases" else None
        if change.kind in ("url", "status") and now != change.current:
            done = now == change.new
            plan.skipped.append((change, "already done" if done else
                                 f"the catalog changed since the report (it now says {now!r})"))  # fmt: skip
            continue
        if change.kind == "url":
            edits.append(_set_field(tree, node, "url", change.new))
            new_url = change.new
            # A move keeps the old URL as an alias: pages and people still link it.
            if change.current and change.current not in aliases_now and change.current not in new_aliases:
                new_aliases.append(change.current)
        elif change.kind == "status":
            edits.append(_set_field(tree, node, "status", change.new))
        elif change.new in aliases_now:
            plan.skipped.append((change, "already an alias"))
            continue
        elif change.new not in new_aliases:  # a move's old URL may be proposed as an alias too: added once
            new_aliases.append(change.new)
        plan.applied.append(change)
    new_aliases = [a for a in new_aliases if a != new_url]
    if new_aliases:
        edits.append(_add_aliases(tree, node, new_aliases))


def _set_field(tree: _Tree, node: MappingNode, key: str, value: str) -> _Edit:
    current = _get(node, key)
    if isinstance(current, ScalarNode):
        start, end = current.start_mark.index, _content_end(tree, current)
        written = _scalar(value, current, tree, bool(node.flow_style))
        if start == end and tree.text[start - 1 : start] == ":":  # an empty value: `status:`
            written = " " + written
        return _Edit(start, end, written)
    return _add_key(tree, node, key, _scalar(value, None, tree, bool(node.flow_style)))


def _add_key(tree: _Tree, node: MappingNode, key: str, written: str) -> _Edit:
    """A new `key: value` in the entry, after its `url` (where a maintainer looks for it) or at its end."""
    last = node.value[-1][1]
    if node.flow_style:
        at = _content_end(tree, last)
        return _Edit(at, at, f", {key}: {written}")
    after = _get(node, "url") or last
    key_col = node.value[0][0].start_mark.column
    at = tree.line_end(_content_end(tree, after) - 1)
    gap = "" if written.startswith("\n") else " "  # a block list starts on the next line
    return _Edit(at, at, f"{' ' * key_col}{key}:{gap}{written}\n")


def _add_aliases(tree: _Tree, node: MappingNode, values: list[str]) -> _Edit:
    seq = _get(node, "aliases")
    if isinstance(seq, SequenceNode) and seq.value and not seq.flow_style:
        last = seq.value[-1]
        at = tree.line_end(_content_end(tree, last) - 1)
        col = seq.start_mark.column
        return _Edit(at, at, "".join(f"{' ' * col}- {_scalar(v, last, tree, False)}\n" for v in values))
    if isinstance(seq, SequenceNode) and seq.value:
        at = _content_end(tree, seq.value[-1])
        return _Edit(at, at, "".join(f", {_scalar(v, seq.value[-1], tree, True)}" for v in values))
    url = _get(node, "url")
    like = url if isinstance(url, ScalarNode) and url.style in ("'", '"') else None
    if isinstance(seq, (SequenceNode, ScalarNode)):  # `aliases: []`, `aliases:` or `aliases: ~`
        start, end = seq.start_mark.index, _content_end(tree, seq)
        lead = " " if start == end and tree.text[start - 1 : start] == ":" else ""
        return _Edit(start, end, lead + _flow_list(values, tree, like))
    offset = _block_list_offset(tree)
    if offset is None or node.flow_style:
        return _add_key(tree, node, "aliases", _flow_list(values, tree, like))
    col = node.value[0][0].start_mark.column + offset
    items = "".join(f"\n{' ' * col}- {_scalar(v, like, tree, False)}" for v in values)
    return _add_key(tree, node, "aliases", items)


def _block_list_offset(tree: _Tree) -> int | None:
    """How far the file indents a block list's `-` under its key (`aliases:` then `  - url`), if it has one."""
    for entry in tree.by_id.values():
        for key, value in entry.value:
            if isinstance(value, SequenceNode) and value.value and not value.flow_style:
                return value.start_mark.column - key.start_mark.column
    return None


def _plan_hub_change(tree: _Tree, change: Change, plan: FixPlan, edits: list[_Edit]) -> None:
    if tree.entries.flow_style or not tree.entries.value:
        plan.skipped.append((change, "`entries:` is not a block list; edit it by hand"))
        return
    if change.kind == "remove-entry":
        node = tree.by_id.get(change.entry_id)
        if node is None:
            plan.skipped.append((change, f"no entry {change.entry_id!r} in the catalog"))
            return
        start = tree.line_start(node.start_mark.index)
        before = tree.text[tree.line_start(max(start - 1, 0)) : start]
        if REMOVED_MARK in before:
            plan.skipped.append((change, "already flagged"))
            return
        why = " ".join((change.why or "no longer on the hub page").split())
        col = tree.entries.start_mark.column
        edits.append(_Edit(start, start, f"{' ' * col}{REMOVED_MARK}not on the hub page any more: {why}\n"))
        plan.applied.append(change)
        return
    entry = change.entry
    if not entry or not entry.get("id"):
        plan.skipped.append((change, "the proposal has no entry to add"))
        return
    if str(entry["id"]) in tree.by_id:
        plan.skipped.append((change, "an entry with this id is already in the catalog"))
        return
    edits.append(_insert_entry(tree, entry))
    plan.applied.append(change)


def _insert_entry(tree: _Tree, entry: Mapping[str, Any]) -> _Edit:
    """The entry, written in the file's own indentation, after the last entry of its section (or at the end)."""
    nodes = [n for n in tree.entries.value if isinstance(n, MappingNode)]
    block = [n for n in nodes if not n.flow_style]
    dash = tree.entries.start_mark.column
    key_col = block[0].start_mark.column if block else dash + 2
    same = [n for n in nodes if _value(_get(n, "section")) == entry.get("section")]
    after = (same or nodes)[-1]
    at = tree.line_end(_content_end(tree, after) - 1)
    # Entries separated by blank lines get one too.
    spaced = len(nodes) > 1 and tree.text[tree.line_start(nodes[1].start_mark.index) - 2 : ][:1] == "\n"
    lines = []
    keys = [k for k in _ENTRY_ORDER if entry.get(k) not in (None, [], "")]
    if "url" not in keys:
        keys.insert(3, "url")  # required, may be null
    for i, key in enumerate(keys):
        value = entry.get(key)
        if isinstance(value, list):
            written = _flow_list((str(v) for v in value), tree)
        elif value is None:
            written = "null"
        else:
            written = _scalar(str(value), None, tree, False)
        lead = f"{' ' * dash}-{' ' * (key_col - dash - 1)}" if i == 0 else " " * key_col
        lines.append(f"{lead}{key}: {written}\n")
    return _Edit(at, at, ("\n" if spaced else "") + "".join(lines))


def _apply(text: str, edits: list[_Edit]) -> str:
    # Later edits first, so earlier offsets stay valid; insertions at one point keep their planned order.
    for edit in sorted(enumerate(edits), key=lambda ie: (ie[1].start, ie[0]), reverse=True):
        e = edit[1]
        text = text[: e.start] + e.text + text[e.end :]
    return text


def check_applied(plan: FixPlan) -> list[str]:
    """Differences between what the plan meant to write and what the new text reads as (empty when none)."""
    try:
        data = yaml.safe_load(plan.text)
    except yaml.YAMLError as exc:
        return [f"the edited catalog is not valid YAML: {exc}"]
    entries = {str(e.get("id")): e for e in (data or {}).get("entries") or [] if isinstance(e, dict)}
    problems = []
    for change in plan.applied:
        got = entries.get(change.entry_id)
        if change.kind == "remove-entry":
            continue
        if got is None:
            problems.append(f"{change.entry_id}: entry missing after the edit")
        elif change.kind in ("url", "status") and got.get(change.kind) != change.new:
            problems.append(f"{change.entry_id}: {change.kind} reads {got.get(change.kind)!r}, not {change.new!r}")
        elif change.kind == "aliases" and change.new not in (got.get("aliases") or []):
            problems.append(f"{change.entry_id}: alias {change.new!r} missing after the edit")
    return problems
