"""A sheet's rows scanned from their XML text, for the plain XML spreadsheet programs write.

Parsing a block of rows into an element tree (``xlsx_reader``) builds four elements a cell and was
most of the cost of reading an extract. The rows Excel, WPS and openpyxl write are simple: no
entities, comments or CDATA, attributes in double quotes, a value in ``<v>`` or one ``<t>`` of an
inline string. :func:`rows` reads such a block with a few regular expressions and gives the same
cells as the tree would; anything it does not recognise, character for character, makes it answer
``None`` and the caller parses that block as XML (so a malformed block is refused as before).
"""

from __future__ import annotations

import re

Cell = tuple[str | None, str, str | None, str | None, str]
"""``(r, t, inline text, value text, s)`` of one ``<c>``; ``t`` defaults to ``n`` and ``s`` to ``0``."""
Row = tuple[str | None, list[Cell]]

NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
              "http://purl.oclc.org/ooxml/spreadsheetml/main")  # transitional and strict
# Attributes: plain names, double-quoted values without the characters XML would normalise or refuse.
_NAME = r'[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?'
_ATTRIBUTES = r'(?: ' + _NAME + r'="[^"<&\t\n]*")*'
_ATTRIBUTE = re.compile(r' (' + _NAME + r')="([^"]*)"')
_ROW = re.compile(r'\s*<row(' + _ATTRIBUTES + r') ?(/?)>')
_PRESERVE = r'(?: xml:space="preserve")?'
# One cell, the whole of it in group 1 (so that the cells found can be seen to cover the row).
_CELL = re.compile(
    r'(\s*<c(?: r="([A-Z]{1,3}[0-9]{1,7})")?(' + _ATTRIBUTES + r') ?(?:/>|>'
    r'(?:<f(?: [^<>]*)?/>|<f(?: [^<>]*)?>[^<]*</f>)?'
    r'(?:<v>([^<]*)</v>|<v/>|(<is><t' + _PRESERVE + r'>([^<]*)</t></is>|<is><t' + _PRESERVE + r'/></is>))?'
    r'</c>))')
# What an XML parser would refuse or change in text: entities, CDATA's end, CR, control characters
# and the two non-characters (U+FFFE, U+FFFF in UTF-8).
_UNSAFE = (b"&", b"\r", b"]]>", b"\xef\xbf\xbe", b"\xef\xbf\xbf")
_CONTROLS = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
_ROOT = re.compile(r'<\?xml[^>]*\?>\s*<([A-Za-z]+)\b([^<>]*)>')


def plain_root(head: bytes) -> frozenset[str] | None:
    """The attribute prefixes the sheet's root declares, if it declares the spreadsheet namespace as
    its default and ``sheetData`` has no prefix (so that a row's unprefixed tags are the
    spreadsheet's); ``None`` if not."""
    try:
        text = head.decode()
    except UnicodeDecodeError:
        return None
    found = _ROOT.match(text.lstrip()) or re.match(r'\s*<([A-Za-z]+)\b([^<>]*)>', text)
    if found is None or found[1] != "worksheet" or re.search(r'<sheetData\b', text) is None:
        return None
    declared = re.findall(r'\sxmlns="([^"]*)"', found[2])
    if len(declared) != 1 or declared[0] not in NAMESPACES:
        return None
    return frozenset(re.findall(r'\sxmlns:([A-Za-z_][\w.-]*)=', found[2]))


def _attributes(text: str, prefixes: frozenset[str]) -> dict[str, str] | None:
    pairs = _ATTRIBUTE.findall(text)
    found = dict(pairs)
    if len(found) != len(pairs):  # a repeated attribute is an XML error
        return None
    if ":" not in text and "xmlns" not in text:  # the usual cell: no name to check
        return found
    for name in found:
        # A namespace declaration would change what the tags mean; an undeclared prefix is an error.
        if name == "xmlns" or (":" in name and name.partition(":")[0] not in prefixes - {"xmlns"}):
            return None
    return found


_NO_ATTRIBUTES: dict[str, str] = {}


def _cell_attributes(text: str, prefixes: frozenset[str], seen: dict[str, dict[str, str] | None]
                     ) -> dict[str, str] | None:
    """A cell's attributes but ``r``: the same few (a type, a style) on most cells, so worked out once."""
    if not text:
        return _NO_ATTRIBUTES
    found = seen.get(text, _NO_ATTRIBUTES)
    if found is _NO_ATTRIBUTES:
        found = _attributes(text, prefixes)
        if len(seen) < 256:  # a sheet has a few kinds of cell; never more than this many kept
            seen[text] = found
    return found


def rows(body: bytes, prefixes: frozenset[str]) -> list[Row] | None:
    """The rows of a block of ``<row>`` elements, or ``None`` if it is not all plain rows."""
    if any(unsafe in body for unsafe in _UNSAFE) or len(body.translate(None, _CONTROLS)) != len(body):
        return None
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    found: list[Row] = []
    seen: dict[str, dict[str, str] | None] = {}
    at, end = 0, len(text.rstrip())  # each pattern takes the white space before its element
    row_match, cells_of = _ROW.match, _CELL.findall
    while at < end:
        row = row_match(text, at)
        if row is None:
            return None
        attributes = _attributes(row[1], prefixes)
        if attributes is None:
            return None
        cells: list[Cell] = []
        found.append((attributes.get("r"), cells))
        if row[2]:  # <row/>
            at = row.end()
            continue
        close = text.find("</row>", row.end())
        if close < 0:
            return None
        inner, at = text[row.end():close].rstrip(), close + 6
        matched = cells_of(inner)
        if sum(len(cell[0]) for cell in matched) != len(inner):  # something between or after the cells
            return None
        for _whole, reference, rest, value, inline_string, inline in matched:
            attrs = _cell_attributes(rest, prefixes, seen)
            if attrs is None or "r" in attrs:
                return None
            kind = attrs.get("t", "n")
            if inline_string and kind != "inlineStr":
                return None  # the tree reader takes <is> only of an inline string: leave it the odd case
            # An inline string's text ("" for <t/>); <v></v> holds no value (the tree's None text).
            cells.append((reference or None, kind, inline if inline_string else None, value or None,
                          attrs.get("s", "0")))
    return found
