"""Test-only: write a Python value tree as YAML text in randomly varied styles.

The emitter covers the YAML subset of fgc's config layer: block mappings and sequences (with
varied indentation, compact `- k: v` / `- - a` forms and `key:\\n- a` sequences), flow
collections (possibly over several lines, trailing commas, `{a}` lone keys, JSON-like `"k":v`),
plain / single-quoted / double-quoted scalars (escapes, folded over lines, escaped line breaks),
literal and folded block scalars with chomping and indentation indicators, anchors and aliases
(an alias is only written for a value equal to the anchored one, so values are preserved),
merge keys, duplicate keys (an earlier decoy entry that the real one overrides), standard tags,
comments, and `---` / `...` markers.

Every choice comes from the `random.Random` given (hypothesis supplies a reproducible one).
`Emitter.merged` tells whether a merge key changed the value (then only the two parsers can be
compared, not the parsers with the original tree).
"""

from __future__ import annotations

import math
import random
from typing import Any

from fgc.syntax.scalars import resolve_plain_scalar

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_CHARS = set(",[]{}")
_NAMED_ESCAPES = {"\0": "\\0", "\x07": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\x0b": "\\v",
                  "\x0c": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N",
                  "\xa0": "\\_", "\u2028": "\\L", "\u2029": "\\P"}
# Characters PyYAML treats as line breaks or rejects: only ever written escaped.
_UNSAFE_RAW = set("\x85\u2028\u2029\ufeff")


def printable(s: str) -> bool:
    return all((c.isprintable() or c == " ") and c not in _UNSAFE_RAW for c in s)


def plain_ok(s: str, flow: bool) -> bool:
    """Whether `s` can be written as a one-line plain scalar that reads back as the string."""
    if not s or s != s.strip(" \t") or not printable(s) or "\t" in s:
        return False
    if s.startswith(("---", "...")) or s == "<<":
        return False
    first = s[0]
    if first in _INDICATORS:
        if first not in "-?:" or len(s) < 2 or s[1] in " \t":
            return False
        if flow and (first in "?:" or s[1] in _FLOW_CHARS):
            return False
    if ": " in s or s.endswith(":") or " #" in s:
        return False
    if flow and (_FLOW_CHARS & set(s) or ":" in s or "?" in s):  # PyYAML ends flow plain scalars at `?`
        return False
    return isinstance(resolve_plain_scalar(s), str)


def single_ok(s: str) -> bool:
    return "\n" not in s and printable(s.replace("\t", ""))


def double_quote(s: str) -> str:
    out = []
    for c in s:
        if c in _NAMED_ESCAPES and c != "\t":
            out.append(_NAMED_ESCAPES[c])
        elif c == "\t" or c.isprintable() and c not in _UNSAFE_RAW:
            out.append(c)
        elif ord(c) <= 0xFF:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) <= 0xFFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


def _break_at_spaces(s: str, rnd: random.Random) -> list[str] | None:
    """Split `s` at some single spaces (never at runs of blanks); None when it has none."""
    words = s.split(" ")
    if len(words) < 2 or any(w == "" or w != w.strip("\t") for w in words):
        return None
    lines, current = [], words[0]
    for w in words[1:]:
        if rnd.random() < 0.5:
            lines.append(current)
            current = w
        else:
            current += " " + w
    lines.append(current)
    return lines if len(lines) > 1 else None


class Emitter:
    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd
        self.anchors: list[tuple[Any, str]] = []
        self.count = 0
        self.merged = False
        self.no_decoys = False

    # -- helpers ------------------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def step(self) -> int:
        return self.r.choice([1, 2, 2, 2, 3, 4])

    def anchor(self) -> str:
        self.count += 1
        return f"a{self.count}"

    def find_alias(self, value: Any) -> str | None:
        from yaml_oracle import same

        for anchored, name in self.anchors:
            if same(anchored, value):
                return name
        return None

    def comment(self) -> str:
        return self.r.choice(["# note", "#", "# key: value", "# - item", "#: x"])

    # -- documents ----------------------------------------------------------------------------

    def document(self, value: Any) -> str:
        lines: list[str] = []
        if self.chance(0.2):
            lines.append(self.comment())
        if self.chance(0.3):
            lines.append("---")
        inline, rest = self.node(value, -1, in_map=False)
        if inline:
            lines.append(inline)
        lines.extend(rest)
        # A bare `...` after nothing but comments ends no document: PyYAML rejects it.
        if self.chance(0.15) and (inline or rest or "---" in lines):
            lines.append("...")
        text = "\n".join(lines)
        if self.chance(0.5):
            text += "\n"
        return text

    # -- nodes --------------------------------------------------------------------------------

    def node(self, value: Any, n: int, in_map: bool) -> tuple[str, list[str]]:
        """A node whose parent block collection is indented `n` (-1 at the top).

        Returns the text that follows `key:` / `- ` on the same line (possibly empty) and the
        lines after it.
        """
        if self.chance(0.25):
            name = self.find_alias(value)
            if name is not None:
                return f"*{name}", []
        anchor = self.anchor() if self.chance(0.15) else None
        # PyYAML deduplicates the keys of a merged mapping by object identity, so a decoy
        # entry with a one-character key would win there: no decoys in anchored mappings.
        self.no_decoys = anchor is not None
        inline, rest = self._content(value, n, in_map)
        if anchor:
            inline = f"&{anchor} {inline}".rstrip()
            self.anchors.append((value, anchor))
        return inline, rest

    def _content(self, value: Any, n: int, in_map: bool) -> tuple[str, list[str]]:
        if isinstance(value, dict) and value and self.chance(0.75):
            return "", self.block_mapping(value, n + self.step() if n >= 0 else 0)
        if isinstance(value, list) and value and self.chance(0.75):
            if in_map and self.chance(0.4):
                return "", self.block_sequence(value, n)
            return "", self.block_sequence(value, n + self.step() if n >= 0 else 0)
        if isinstance(value, (dict, list)):
            return self.flow_multiline(value, n)
        return self.scalar(value, n)

    # -- block collections --------------------------------------------------------------------

    def block_mapping(self, d: dict, m: int) -> list[str]:
        out: list[str] = []
        items = list(d.items())
        decoys, self.no_decoys = not self.no_decoys, False
        merge_at = -1
        mergeable = [(v, name) for v, name in self.anchors if isinstance(v, dict) and v]
        if mergeable and self.chance(0.1):
            merge_at = self.r.randrange(len(items) + 1)
        for i in range(len(items) + 1):
            if i == merge_at:
                out.append(" " * m + f"<<: *{self.r.choice(mergeable)[1]}")
                self.merged = True
            if i == len(items):
                break
            k, v = items[i]
            if decoys and self.chance(0.1):  # a decoy that the real entry overrides (last wins, first position)
                out.extend(self.entry(k, self.r.choice([0, "decoy", None, [1]]), m, record=False))
            if self.chance(0.1):
                out.append(" " * self.r.randrange(0, m + 1) + self.comment())  # not inside a block scalar above
            out.extend(self.entry(k, v, m))
        return out

    def entry(self, k: Any, v: Any, m: int, record: bool = True) -> list[str]:
        key = self.key(k, flow=False)
        saved = list(self.anchors)
        inline, rest = self.node(v, m, in_map=True)
        if not record:  # a decoy's anchors stay unused (their names are not reused either)
            self.anchors = saved
        first = " " * m + key + ":" + (" " + inline if inline else "")
        if self.chance(0.15) and (not rest or not inline or inline[-1] in "|>-+0123456789" and self._block_header(inline)):
            first += " " + self.comment()
        return [first] + rest

    @staticmethod
    def _block_header(inline: str) -> bool:
        last = inline.split(" ")[-1]
        return bool(last) and last[0] in "|>"

    def block_sequence(self, items: list, m: int) -> list[str]:
        out: list[str] = []
        for item in items:
            if self.chance(0.1):
                out.append(" " * self.r.randrange(0, m + 1) + self.comment())  # not inside a block scalar above
            if isinstance(item, dict) and item and self.chance(0.5):
                inner = self.block_mapping(item, m + 2)
                while inner[0].lstrip().startswith("#"):
                    out.append(inner.pop(0))
                out.append(" " * m + "- " + inner[0][m + 2:])
                out.extend(inner[1:])
            elif isinstance(item, list) and item and self.chance(0.5):
                inner = self.block_sequence(item, m + 2)
                while inner[0].lstrip().startswith("#"):
                    out.append(inner.pop(0))
                out.append(" " * m + "- " + inner[0][m + 2:])
                out.extend(inner[1:])
            else:
                inline, rest = self.node(item, m, in_map=False)
                out.append(" " * m + ("- " + inline if inline else "-"))
                out.extend(rest)
        return out

    # -- flow collections ---------------------------------------------------------------------

    def flow_multiline(self, value: Any, n: int) -> tuple[str, list[str]]:
        text = self.flow(value, n)
        lines = text.split("\n")
        return lines[0], lines[1:]

    def flow(self, value: Any, n: int) -> str:
        def sep() -> str:
            if self.chance(0.15):
                return "\n" + " " * (max(n, 0) + 1 + self.r.randrange(3))
            return " " if self.chance(0.7) else ""

        if isinstance(value, list):
            parts = [self.flow_node(v, n) for v in value]
            trailing = "," if parts and self.chance(0.2) else ""
            return "[" + sep().lstrip(" ") + ("," + sep()).join(parts) + trailing + "]"
        parts = []
        for k, v in value.items():
            key = self.key(k, flow=True)
            if v is None and self.chance(0.3) and not key.startswith(("'", '"')):
                parts.append(key)
                continue
            colon = ":" if key[0] in "'\"" and self.chance(0.3) else ": "
            parts.append(key + colon + self.flow_node(v, n))
        trailing = "," if parts and self.chance(0.2) else ""
        return "{" + sep().lstrip(" ") + ("," + sep()).join(parts) + trailing + "}"

    def flow_node(self, value: Any, n: int) -> str:
        if self.chance(0.2):
            name = self.find_alias(value)
            if name is not None:
                return f"*{name}"
        anchor = self.anchor() if self.chance(0.1) else None
        if isinstance(value, (dict, list)):
            text = self.flow(value, n)
        else:
            text = self.flow_scalar(value)
        if anchor:
            self.anchors.append((value, anchor))
            return f"&{anchor} {text}"
        return text

    def flow_scalar(self, value: Any) -> str:
        if isinstance(value, str):
            choices = ["double"]
            if plain_ok(value, flow=True):
                choices += ["plain", "plain"]
            if single_ok(value):
                choices.append("single")
            style = self.r.choice(choices)
            if style == "plain":
                return value
            if style == "single":
                return "'" + value.replace("'", "''") + "'"
            return double_quote(value)
        if value is None:
            return self.r.choice(["null", "~", "Null", "NULL"])
        return self.typed(value)

    # -- scalars ------------------------------------------------------------------------------

    def key(self, k: Any, flow: bool) -> str:
        if isinstance(k, str):
            if plain_ok(k, flow) and k != "<<" and self.chance(0.7):
                return k
            if single_ok(k) and self.chance(0.5):
                return "'" + k.replace("'", "''") + "'"
            return double_quote(k)
        if k is None:
            return self.r.choice(["null", "~"])
        return self.typed(k)

    def typed(self, value: Any) -> str:
        """A plain non-string scalar, in one of its YAML 1.2 spellings."""
        if isinstance(value, bool):
            return self.r.choice(["true", "True", "TRUE"] if value else ["false", "False", "FALSE"])
        if isinstance(value, int):
            if value >= 0 and self.chance(0.2):
                return self.r.choice([f"0x{value:x}", f"0x{value:X}", f"0o{value:o}", f"+{value}"])
            return str(value)
        if math.isnan(value):
            return self.r.choice([".nan", ".NaN", ".NAN"])
        if math.isinf(value):
            return ("-" if value < 0 else self.r.choice(["", "+"])) + self.r.choice([".inf", ".Inf", ".INF"])
        text = repr(value)
        return text.upper() if self.chance(0.2) else text

    def scalar(self, value: Any, n: int) -> tuple[str, list[str]]:
        cont = " " * (max(n, 0) + 1 + self.r.randrange(3))  # continuation lines: deeper than n
        if not isinstance(value, str):
            if value is None:
                return self.r.choice(["null", "~", "Null", "NULL", "", "!!null"]), []
            tag = ""
            if self.chance(0.1):
                tag = {bool: "!!bool ", int: "!!int ", float: "!!float "}[type(value)]
            return tag + self.typed(value), []
        tag = "!!str " if self.chance(0.1) else ""
        styles = ["double"]
        if plain_ok(value, flow=False):
            styles += ["plain", "plain", "plain_lines"]
        if single_ok(value):
            styles += ["single", "single_lines"]
        if self.literal_ok(value):
            styles += ["literal", "literal"]
        if self.folded_ok(value):
            styles += ["folded", "folded"]
        styles.append("double_lines")
        style = self.r.choice(styles)
        if style == "plain":
            return tag + value, []
        if style == "plain_lines":
            lines = _break_at_spaces(value, self.r)
            if lines and not any(line.startswith("#") for line in lines):
                return tag + lines[0], [cont + line for line in lines[1:]]
            return tag + value, []
        if style == "single":
            return tag + "'" + value.replace("'", "''") + "'", []
        if style == "single_lines":
            lines = _break_at_spaces(value, self.r)
            if lines:
                lines = [line.replace("'", "''") for line in lines]
                return tag + "'" + lines[0], [cont + line for line in lines[1:-1]] + [cont + lines[-1] + "'"]
            return tag + "'" + value.replace("'", "''") + "'", []
        if style == "literal":
            return self.literal(value, n, tag)
        if style == "folded":
            return self.folded(value, n, tag)
        if style == "double_lines":
            return self.double_lines(value, cont, tag)
        return tag + double_quote(value), []

    def double_lines(self, value: str, cont: str, tag: str) -> tuple[str, list[str]]:
        """A double-quoted scalar over several lines: escaped line breaks, or folds at spaces."""
        quoted = double_quote(value)[1:-1]
        pieces, current = [], ""
        i = 0
        while i < len(quoted):
            c = quoted[i]
            if c == "\\":
                # keep an escape together with its argument
                width = {"x": 2, "u": 4, "U": 8}.get(quoted[i + 1], 0)
                current += quoted[i:i + 2 + width]
                i += 2 + width
                continue
            current += c
            i += 1
            nxt = quoted[i] if i < len(quoted) else ""
            if nxt and nxt not in " \t" and c not in " \t" and self.chance(0.1):
                pieces.append(current + "\\")  # escaped line break: no space added
                current = ""
        pieces.append(current)
        if len(pieces) == 1:
            return tag + '"' + quoted + '"', []
        return tag + '"' + pieces[0], [cont + p for p in pieces[1:-1]] + [cont + pieces[-1] + '"']

    @staticmethod
    def literal_ok(s: str) -> bool:
        body = s.rstrip("\n")
        if not body.strip(" \t\n") or not printable(s.replace("\n", "").replace("\t", "")):
            return False
        return not any(line[:1] == "\t" for line in body.split("\n"))  # a tab cannot indent

    def _chomping(self, s: str) -> tuple[str, str, int]:
        body = s.rstrip("\n")
        trailing = len(s) - len(body)
        return body, "-" if trailing == 0 else ("" if trailing == 1 else "+"), trailing

    def literal(self, s: str, n: int, tag: str) -> tuple[str, list[str]]:
        body, chomp, trailing = self._chomping(s)
        lines = body.split("\n")
        # Auto-detection reads the first line's indentation: make it explicit when that line is
        # empty or starts with a space.
        explicit = lines[0][:1] in ("", " ") or self.chance(0.3)
        k = self.r.randrange(1, 5)
        indent = (max(n, 0) + k) if n >= 0 else k
        header = "|" + (str(k) if explicit else "") + chomp
        if explicit and self.chance(0.5):
            header = "|" + chomp + str(k)
        if not explicit:
            indent = max(n, 0) + k if n >= 0 else k
        out = [" " * indent + line if line else "" for line in lines]
        out += [""] * (trailing - 1 if trailing > 1 else 0)
        return tag + header, out

    @staticmethod
    def folded_ok(s: str) -> bool:
        body = s.rstrip("\n")
        if not body or body.startswith("\n") or not printable(body.replace("\n", "")):
            return False
        for para in body.split("\n"):
            if para and (para != para.strip(" \t") or "  " in para or "\t" in para):
                return False
        return not body.split("\n")[0] == ""

    def folded(self, s: str, n: int, tag: str) -> tuple[str, list[str]]:
        body, chomp, trailing = self._chomping(s)
        k = self.r.randrange(1, 5)
        indent = (max(n, 0) + k) if n >= 0 else k
        explicit = self.chance(0.3)
        header = ">" + (str(k) if explicit else "") + chomp
        out: list[str] = []
        paragraphs = body.split("\n")
        # Paragraph texts separated by newlines: k newlines between two texts = k empty lines.
        pending_breaks = 0
        for i, para in enumerate(paragraphs):
            if para == "":
                pending_breaks += 1
                continue
            if out:
                out.extend([""] * (pending_breaks + 1))
            pending_breaks = 0
            pieces = _break_at_spaces(para, self.r) or [para]
            out.extend(" " * indent + piece for piece in pieces)
        out += [""] * (trailing - 1 if trailing > 1 else 0)
        return tag + header, out
