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

_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
               "http://purl.oclc.org/ooxml/spreadsheetml/main")
# Attributes: plain names, double-quoted values without the characters XML would normalise or refuse.
_NAME = r'[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?'
_ATTRIBUTES = r'(?: ' + _NAME + r'="[^"<&\t\n]*")*'
_ATTRIBUTE = re.compile(r' (' + _NAME + r')="([^"]*)"')
_ROW = re.compile(r'\s*<row(' + _ATTRIBUTES + r') ?(?:/>|>(.*?)</row>)', re.S)
_PRESERVE = r'(?: xml:space="preserve")?'
_CELL = re.compile(
    r'\s*<c(' + _ATTRIBUTES + r') ?(?:/>|>'
    r'(?:<f(?: [^<>]*)?/>|<f(?: [^<>]*)?>[^<]*</f>)?'
    r'(?:<v>([^<]*)</v>|<v/>|<is><t' + _PRESERVE + r'>([^<]*)</t></is>|(<is><t' + _PRESERVE + r'/></is>))?'
    r'</c>)')
# What an XML parser would refuse or change in text: control characters, entities, CDATA's end, CR.
_UNSAFE = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\r&\ufffe\uffff]|]]>')
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
    if len(declared) != 1 or declared[0] not in _NAMESPACES:
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


def rows(body: bytes, prefixes: frozenset[str]) -> list[Row] | None:
    """The rows of a block of ``<row>`` elements, or ``None`` if it is not all plain rows."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    if _UNSAFE.search(text):
        return None
    found: list[Row] = []
    at, end = 0, len(text.rstrip())  # each pattern takes the white space before its element
    row_match, cell_match = _ROW.match, _CELL.match
    while at < end:
        row = row_match(text, at)
        if row is None:
            return None
        at = row.end()
        attributes = _attributes(row[1], prefixes)
        if attributes is None:
            return None
        cells: list[Cell] = []
        inner = (row[2] or "").rstrip()
        position, stop = 0, len(inner)
        while position < stop:
            cell = cell_match(inner, position)
            if cell is None:
                return None
            position = cell.end()
            attrs = _attributes(cell[1], prefixes) if cell[1] else {}
            if attrs is None:
                return None
            kind = attrs.get("t", "n")
            inline = cell[3] if cell[3] is not None else ("" if cell[4] is not None else None)
            value = cell[2] or None  # <v></v> holds no value, as the tree's None text
            if inline is not None and kind != "inlineStr":
                return None  # the tree reader takes <is> only of an inline string: leave it the odd case
            cells.append((attrs.get("r"), kind, inline, value, attrs.get("s", "0")))
        found.append((attributes.get("r"), cells))
    return found
