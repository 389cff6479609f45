"""Strict reading of YAML input (the catalog and --config files): every problem, each with file, line and field.

PyYAML's loaders turn a file into plain values and forget where each came from, and they stop at the first
surprise. Here the text is only *composed* (with the safe loader's resolver) into nodes, which keep their start
line, and a `Reader` walks them by hand: each getter validates one value, records a `Problem` where it is wrong,
and lets the walk go on, so a maintainer sees every mistake in one run.

Error tree: `CatalogError` is the one exception for bad input files; it carries the list of `Problem`s.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader as _PythonReader
from yaml.representer import SafeRepresenter

from monitor.inputfile import InputFileError, read_capped

try:
    from yaml import CSafeLoader
except ImportError:  # PyYAML built without libyaml
    CSafeLoader = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth a warning) in an input file, e.g. `catalog/hub.yaml:42: entries[7].url: ...`.

    `line` is 1-based; 0 when there is no line to point at (a missing file, settings given as a dict).
    `field` is the path of the value, such as `entries[7].url` or `settings.hosts[github.com].concurrency`;
    empty for problems with the file as a whole.
    """

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class CatalogError(Exception):
    """The catalog or a configuration file is not valid; `problems` lists everything wrong, in file order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(problems, key=lambda p: (p.file, p.line, p.field))
        super().__init__("\n".join(str(p) for p in self.problems))


class _Bad:
    """Marks a value that was wrong and has already been reported."""

    def __repr__(self) -> str:
        return "BAD"


BAD: Final = _Bad()


_STR: Final = "tag:yaml.org,2002:str"


def join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'title'?)' for a near miss, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def line_of(node: Node | None) -> int:
    # Nodes built from a Python dict (settings given in code) have no marks.
    if node is None or node.start_mark is None:
        return 0
    return node.start_mark.line + 1


class Reader:
    """Walks composed YAML nodes of one file, collecting problems and warnings instead of raising."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        # One constructor per file: it memoises constructed nodes, and that memo must not outlive the file.
        self._constructor = SafeConstructor()

    # -- recording ------------------------------------------------------------------------------------

    def error(self, where: Node | int | None, field: str, message: str) -> None:
        line = where if isinstance(where, int) else line_of(where)
        self.problems.append(Problem(self.file, line, field, message))

    def warn(self, where: Node | int | None, field: str, message: str) -> None:
        line = where if isinstance(where, int) else line_of(where)
        self.warnings.append(Problem(self.file, line, field, message))

    # -- sources --------------------------------------------------------------------------------------

    def compose_file(self, path: Path, limit: int) -> Node | None:
        """The file's root node, or None (with a problem recorded) when it cannot be read as YAML.

        Only a regular file of at most `limit` bytes is read (a FIFO or /dev/zero is refused, not waited on).
        """
        try:
            data = read_capped(path, limit)
        except InputFileError as exc:
            self.error(0, "", exc.reason)
            return None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.error(line, "", f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8")
            return None
        return self.compose_text(text)

    def compose_text(self, text: str) -> Node | None:
        root = _compose_with_libyaml(text)
        try:
            if root is _SLOW:
                root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem)
            self.error(mark.line + 1 if mark else 0, "", f"YAML syntax error: {detail}")
            return None
        except yaml.reader.ReaderError as exc:
            line = text[: exc.position].count("\n") + 1
            self.error(line, "", f"YAML syntax error: character #x{exc.character:04x} is not allowed in YAML")
            return None
        except yaml.YAMLError as exc:
            self.error(0, "", f"YAML syntax error: {exc}")
            return None
        except RecursionError:
            self.error(0, "", "YAML syntax error: the document is nested too deeply")
            return None
        if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            self.error(1, "", "the file is empty")
            return None
        return root

    def represent(self, data: Mapping[str, object], field: str) -> Node | None:
        """Nodes for settings given as a Python mapping, so that one validator serves files and code."""
        try:
            return SafeRepresenter().represent_data(dict(data))
        except yaml.YAMLError as exc:
            self.error(0, field, f"cannot be read: {exc}")
            return None

    # -- structure ------------------------------------------------------------------------------------

    def pairs(self, node: Node, field: str) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping, with non-text and repeated keys reported and skipped."""
        if not isinstance(node, MappingNode):
            self.error(node, field, f"expected a mapping (key: value lines), got {self.describe(node)}")
            return []
        seen: dict[str, int] = {}
        result: list[tuple[str, Node, Node]] = []
        for key_node, value_node in node.value:
            key = self.value(key_node, field, "a key")
            if key is BAD:
                continue
            if not isinstance(key, str):
                self.error(key_node, field, f"keys must be text, got {self.describe(key_node)}")
                continue
            if key in seen:
                self.error(key_node, join(field, key), f"repeated key (first given on line {seen[key]})")
                continue
            seen[key] = line_of(key_node)
            result.append((key, key_node, value_node))
        return result

    def fields(
        self, node: Node, field: str, allowed: Collection[str], required: Collection[str] = ()
    ) -> dict[str, Node] | None:
        """The value nodes of a mapping with a fixed set of keys; unknown and missing keys are reported."""
        if not isinstance(node, MappingNode):
            self.error(node, field, f"expected a mapping (key: value lines), got {self.describe(node)}")
            return None
        found: dict[str, Node] = {}
        for key, key_node, value_node in self.pairs(node, field):
            if key not in allowed:
                hint = suggest(key, allowed) or f" (expected one of: {', '.join(allowed)})"
                self.error(key_node, join(field, key), f"unknown key {key!r}{hint}")
                continue
            found[key] = value_node
        for key in required:
            if key not in found:
                self.error(node, join(field, key), "missing (required)")
        return found

    def sequence(self, node: Node, field: str) -> list[Node]:
        """Items of a list; null counts as an empty list."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if self.is_null(node):
            return []
        self.error(node, field, f"expected a list, got {self.describe(node)}")
        return []

    # -- scalars --------------------------------------------------------------------------------------

    def value(self, node: Node, field: str, expected: str) -> object:
        """The Python value of a scalar node, or BAD (reported) for a list, a mapping or an unreadable value."""
        if not isinstance(node, ScalarNode):
            self.error(node, field, f"expected {expected}, got {self.describe(node)}")
            return BAD
        if node.tag == _STR:
            return node.value  # what the constructor gives for text, without its bookkeeping (most values)
        try:
            return self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            # An unknown tag, or a value that looks like a date but is not one (2023-13-45).
            reason = getattr(exc, "problem", None) or str(exc)
            self.error(node, field, f"cannot read {node.value!r}: {reason}; put it in quotes if it is text")
            return BAD

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def text(self, node: Node, field: str, *, nullable: bool = False, empty: bool = False) -> str | None:
        """A string; None for null (when allowed) or a reported problem."""
        if nullable and self.is_null(node):
            return None
        value = self.value(node, field, "text")
        if value is BAD:
            return None
        if not isinstance(value, str):
            self.error(node, field, f"expected text, got {self.describe(node)}; put it in quotes if it is text")
            return None
        if not empty and not value.strip():
            self.error(node, field, "must not be empty")
            return None
        return value

    def texts(self, node: Node, field: str) -> list[tuple[Node, str]]:
        """Each non-empty string of a list, with its node (for the line of a later problem)."""
        result: list[tuple[Node, str]] = []
        for index, item in enumerate(self.sequence(node, field)):
            value = self.text(item, f"{field}[{index}]")
            if value is not None:
                result.append((item, value))
        return result

    def integer(self, node: Node, field: str, *, minimum: int) -> int | None:
        value = self.value(node, field, "a whole number")
        if value is BAD:
            return None
        # bool is an int in Python, but `yes` is not a count.
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, field, f"expected a whole number, got {self.describe(node)}")
            return None
        if value < minimum:
            self.error(node, field, f"must be at least {minimum}, got {value}")
            return None
        return value

    def boolean(self, node: Node, field: str) -> bool | None:
        value = self.value(node, field, "true or false")
        if value is BAD:
            return None
        if not isinstance(value, bool):
            self.error(node, field, f"expected true or false, got {self.describe(node)}")
            return None
        return value

    def describe(self, node: Node) -> str:
        """How a wrong value reads in a message: 'a list', 'the number 42', 'the text 'abc''."""
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        tag = node.tag.rsplit(":", 1)[-1]
        described = {
            "null": "nothing (null)",
            "bool": f"true/false ({node.value})",
            "int": f"the number {node.value}",
            "float": f"the number {node.value}",
            "timestamp": f"the date {node.value}",
            "binary": "binary data",
        }
        return described.get(tag, f"the text {node.value!r}")


# --- composing with libyaml ----------------------------------------------------------------------------

# libyaml composes a catalog about ten times faster than PyYAML's pure-Python loader (0.17 -> 0.016 s for
# 1,000 entries), with the same resolver and the same start lines. But the two disagree on some rarely
# written YAML: libyaml accepts a tab after a plain scalar, "|#" and "[a?]" that PyYAML rejects, and starts
# some empty nodes (after "---", "?", "!", in "{a: }") on another line. Where a text may hold such a thing it
# is composed by PyYAML alone, and libyaml's nodes are kept only when it reads the text without an error:
# every problem is found and worded by PyYAML, as before. What is left to libyaml is block YAML of plain and
# quoted scalars and well-formed block scalar headers, where differential fuzzing found no difference.
_SLOW: Final = object()
# Searched one by one: a search for the four as one alternation tries each at every character of the text,
# where each alone finds its first character by a fast scan (a fifth of the time, 265 KB at 2,000 entries).
_LIBYAML_MAY_DIFFER = tuple(re.compile(pattern, re.MULTILINE) for pattern in (
    r"[\t\r\x85\u2028\u2029\ufeff]",  # other blanks and line breaks, byte-order marks
    r"^(?:---|\.\.\.)",  # document markers
    # An indicator where a token may start: after the indentation and any "- ", or after ": ". Flow
    # collections, tags, anchors, aliases, complex keys, directives, and block scalar headers but "|", ">-",
    # "|2" and the like followed by the end of the line or a spaced comment.
    r"^[ ]*(?:-[ ]+)*[?!&*%@`|>\[\]{},]",
    r":[ ]+(?:[?!&*%@`\[\]{},]|[|>](?![-+]?[1-9]?[-+]?[ ]*(?:$|[ ]#)))",
))  # fmt: skip
# Deeper than this, PyYAML's recursive composer could run out of stack where libyaml (limit 1000) does not.
_LIBYAML_MAX_DEPTH = 100


if CSafeLoader is not None:

    class _LibyamlLoader(CSafeLoader):  # type: ignore[misc,valid-type]
        """libyaml's safe loader, whose resolver answers "text" at once for most scalars of a catalog."""

        # The first characters the safe loader's implicit resolvers (null, bool, int, float, date...) watch.
        _WATCHED = frozenset(CSafeLoader.yaml_implicit_resolvers)
        # libyaml calls the resolver in Python for every scalar (a third of the composing at 2,000 entries).
        # A quoted scalar, or a plain one starting with a character no resolver watches, is text whatever
        # the resolvers would say; the rest are theirs. (Only valid with no resolver for every first
        # character and no path resolvers: the safe loader has neither.)
        _SHORTCUT = None not in _WATCHED and not CSafeLoader.yaml_path_resolvers

        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            if self._SHORTCUT and kind is ScalarNode and (not implicit[0] or value[:1] not in self._WATCHED):
                return self.DEFAULT_SCALAR_TAG
            return super().resolve(kind, value, implicit)

else:
    _LibyamlLoader = None


def _compose_with_libyaml(text: str) -> Node | object | None:
    """The root node as libyaml composes it, or _SLOW when PyYAML must compose (and word any problem)."""
    if (_LibyamlLoader is None or any(pattern.search(text) for pattern in _LIBYAML_MAY_DIFFER)
            or _PythonReader.NON_PRINTABLE.search(text)):
        return _SLOW
    try:
        root = yaml.compose(text, Loader=_LibyamlLoader)
    except Exception:  # PyYAML reads the text again and reports the problem in its words
        return _SLOW
    if root is not None and _deeper_than(root, _LIBYAML_MAX_DEPTH):
        return _SLOW
    return root


def _deeper_than(root: Node, limit: int) -> bool:
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            continue
        if children and depth + 1 > limit:
            return True
        # Only collections go on the stack: a scalar has no children, and its depth was just checked.
        stack.extend((child, depth + 1) for child in children if not isinstance(child, ScalarNode))
    return False
