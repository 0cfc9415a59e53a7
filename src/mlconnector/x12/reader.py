"""Streaming X12 tokenizer: delimiters from each ISA, then raw segments one at a time.

A file of any size is read in chunks; only the current chunk and an unfinished segment are held. Every
interchange announces its own delimiters, so after each IEA the next ISA is sniffed again.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

CHUNK_SIZE = 1 << 20
# Character index of each element separator in a fixed-width ISA, then ISA16 and the segment terminator.
ISA_SEPARATOR_POSITIONS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_LENGTH = 106
_ISA_NAMES = (
    "authorization qualifier",
    "authorization information",
    "security qualifier",
    "security information",
    "sender ID qualifier",
    "sender ID",
    "receiver ID qualifier",
    "receiver ID",
    "date",
    "time",
    "standards ID / repetition separator",
    "version",
    "control number",
    "acknowledgment requested",
    "usage indicator",
    "component separator",
)
_WHITESPACE = " \t\r\n\x00"


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters one interchange declares in its ISA."""

    element: str
    component: str
    segment: str
    repetition: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """A problem the tokenizer itself found (before any schema is consulted)."""

    message: str
    fatal: bool
    segment_number: int


@dataclass(frozen=True, slots=True)
class InterchangeStart:
    """Yielded for each ISA: its raw elements, delimiters, and whether it was fixed width."""

    elements: list[str]
    separators: Separators
    fixed_width: bool
    width_problems: tuple[str, ...]
    segment_number: int


@dataclass(frozen=True, slots=True)
class Junk:
    """Bytes where an ISA was expected."""

    text: str
    segment_number: int


Token = InterchangeStart | Junk | Note | str


def sniff_isa(text: str) -> tuple[list[str], Separators, bool, tuple[str, ...], int] | None:
    """Read the ISA at the start of `text`: (elements, separators, fixed width?, problems, length consumed).

    Returns None when `text` does not yet hold a complete ISA (the caller reads more or reports junk).
    """
    if len(text) < 4 or not text.startswith("ISA"):
        return None
    sep = text[3]
    if sep.isalnum() or sep in _WHITESPACE:
        return None
    if len(text) >= ISA_LENGTH and all(text[p] == sep for p in ISA_SEPARATOR_POSITIONS):
        fixed = True
        last = 103
    else:
        fixed = False
        count, last = 0, -1
        for i in range(3, min(len(text), 400)):
            if text[i] == sep:
                count += 1
                if count == 16:
                    last = i
                    break
        if last < 0 or last + 2 >= len(text):
            return None
    component, terminator = text[last + 1], text[last + 2]
    elements = text[: last + 2].split(sep)
    problems: list[str] = []
    if not fixed:
        for i, (value, width) in enumerate(zip(elements[1:], ISA_WIDTHS, strict=False), 1):
            if len(value) != width:
                problems.append(
                    f"ISA{i:02d} {_ISA_NAMES[i - 1]} {value.strip()!r} is {len(value)} characters, not {width}"
                )
        if not problems:
            problems.append("ISA element separators are not at their fixed positions")
    version = elements[12] if len(elements) > 12 else ""
    repetition = elements[11] if version >= "00403" and len(elements) > 11 and not elements[11].isalnum() else None
    if terminator.isalnum() or terminator in (sep, component) or terminator == " ":
        return None
    return elements, Separators(sep, component, terminator, repetition), fixed, tuple(problems), last + 3


def _drop_line_breaks(text: str, terminator: str) -> str:
    """Line breaks right after a terminator are layout, not data; dropping them here (in C) spares a strip per
    segment. Breaks anywhere else are left alone: they may be the next interchange's own terminator."""
    if "\n" not in text and "\r" not in text:
        return text
    return text.replace(terminator + "\r\n", terminator).replace(terminator + "\n", terminator)


def _decode_chunks(stream: BinaryIO, chunk_size: int) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    while True:
        raw = stream.read(chunk_size)
        if not raw:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        if isinstance(raw, str):  # a text stream handed in by mistake still validates
            yield raw
            continue
        text = decoder.decode(raw)
        if text:
            yield text


def decode(data: bytes | str) -> str:
    """Bytes → text: UTF-8 (BOM tolerated); undecodable bytes become U+FFFD, which validation reports."""
    if isinstance(data, str):
        return data[1:] if data.startswith("\ufeff") else data
    return data.decode("utf-8-sig", errors="replace")


def tokens_from_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    """Tokens of a binary stream, read chunk by chunk."""
    return tokens(_decode_chunks(stream, chunk_size))


def tokens_from_data(data: bytes | str, chunk_size: int = CHUNK_SIZE) -> Iterator[Token]:
    """Tokens of in-memory data (sliced into chunks so the same code path serves both)."""
    text = decode(data)
    return tokens(text[i : i + chunk_size] for i in range(0, len(text), chunk_size))


def tokens(chunks: Iterable[str]) -> Iterator[Token]:
    """Raw segments (str, without terminator) and envelope events, in file order.

    The tokenizer produces them in batches (a chunk's segments at a time); flattening those in C means the
    consumer's `next()` does not resume a Python generator for every segment."""
    return chain.from_iterable(token_batches(chunks))


def token_batches(chunks: Iterable[str]) -> Iterator[list[Token]]:
    """`tokens`, as lists: the segments of a chunk together, every event alone."""
    it = iter(chunks)
    buf = ""
    eof = False
    seps: Separators | None = None
    number = 0  # segments seen so far in the file
    strip_newlines = False
    while True:
        if seps is None:
            stripped = buf.lstrip(_WHITESPACE + "\ufeff")
            while not eof and len(stripped) < 512:
                chunk = next(it, None)
                if chunk is None:
                    eof = True
                    break
                buf = stripped + chunk
                stripped = buf.lstrip(_WHITESPACE + "\ufeff")
            buf = stripped
            if not buf:
                return
            found = sniff_isa(buf)
            if found is None:
                number += 1
                cut = buf.find("ISA", 1)
                while cut > 0 and sniff_isa(buf[cut : cut + 512]) is None:
                    cut = buf.find("ISA", cut + 1)
                if cut < 0 and not eof:
                    # Keep a small tail in case an ISA straddles the chunk boundary.
                    yield [Junk(buf[:80], number)]
                    buf = buf[-3:]
                    chunk = next(it, None)
                    if chunk is None:
                        eof = True
                    else:
                        buf += chunk
                    continue
                yield [Junk(buf[: cut if cut > 0 else 80], number)]
                if cut < 0:
                    return
                buf = buf[cut:]
                continue
            elements, seps, fixed, problems, consumed = found
            number += 1
            yield [InterchangeStart(elements, seps, fixed, problems, number)]
            buf = buf[consumed:]
            strip_newlines = seps.segment not in "\r\n" and seps.element not in "\r\n"
            if strip_newlines:
                buf = _drop_line_breaks(buf, seps.segment)
            continue
        term = seps.segment
        parts = buf.split(term)
        tail = parts.pop()
        restart = False
        batch: list[Token] = []
        for i, seg in enumerate(parts):
            if not seg:
                continue
            if seg[0] in _WHITESPACE or seg[-1] in _WHITESPACE:
                seg = seg.strip(_WHITESPACE)
                if not seg:
                    continue
            number += 1
            batch.append(seg)
            if seg[0] == "I" and seg.startswith("IEA"):  # no slice allocated per segment
                buf = term.join([*parts[i + 1 :], tail])
                seps = None
                restart = True
                break
        if batch:
            yield batch
        if restart:
            continue
        if eof:
            rest = tail.strip(_WHITESPACE)
            if rest:
                number += 1
                yield [
                    Note(f"the last segment ({rest[:20]!r}) has no segment terminator {term!r}", False, number),
                    rest,
                ]
                if rest[:3] == "IEA":
                    seps = None
                    buf = ""
                    continue
            return
        chunk = next(it, None)
        if chunk is None:
            eof = True
            buf = tail
            # One more pass splits the tail (it may hold several segments if the terminator was missing).
            continue
        if strip_newlines:
            chunk = _drop_line_breaks(chunk, term)
        buf = tail + chunk
