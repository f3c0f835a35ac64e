"""Masking credentials in any text Healer lets out: excerpts, prompts, CodeRuns, stored logs.

One place for every shape, so the copies cannot drift. The work is split in two, because the
stored log passes through here whole (hundreds of MB): one RE2 prefilter (linear time, over
bytes) finds the few lines that might hold a credential, and only those lines are decoded and
run through the exact patterns. The prefilter must match wherever a pattern does; the
``test_prefilter_covers_every_pattern`` test holds it to that.

Private key blocks span lines (and, in a stream, blocks): a ``Masker`` remembers that it is
inside one and masks the key's body lines until the ``-----END`` line or the first line that
is not PEM text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import re2

MASK = "***"
BLOCK = 1 << 20
"""Bytes masked at once in a stream; a block always ends at a line end."""
MAX_LINE = 4 * BLOCK
"""A "line" longer than this is cut at its last whitespace (or hard) so memory stays bounded."""

_KEYWORDS = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|authorization"
)

_PREFILTER_TEXT = (
    r"(?i)a[ks]ia|abia|acca|aws|gh[pousr]_|github_pat_|xox[abposr]-|xapp-|hooks\.slack\.com"
    r"|aiza|[sr]k_(?:live|test)_|whsec_|sk-|glpat-|npm_|hf_|dckr_pat_|pypi-|sg\.|eyj"
    r"|discord(?:app)?\.com/api/webhooks|private key|bearer|basic\s|" + _KEYWORDS + r"|pwd"
    r"|accountkey|sharedaccess|sig=|://[^/\s@]+@"
)
_PREFILTER_BYTES = re2.compile(_PREFILTER_TEXT.encode())
_PREFILTER_TEXT_LINES = re2.compile((_PREFILTER_TEXT + r"|[A-Za-z0-9+/]{60}").encode())


@dataclass(frozen=True)
class _Exact:
    """The exact patterns, compiled together when first needed: text without a candidate line
    never needs them, and compiling them (Python's ``re`` compiles in Python) cost every
    scaled-to-zero stage about 10 ms of its cold start."""

    begin_key: re.Pattern[str]
    end_key: re.Pattern[str]
    whole_key: re.Pattern[str]
    log_prefix: re.Pattern[str]
    pem_body: re.Pattern[str]
    pem_line: re.Pattern[str]
    aws_secret: re.Pattern[str]
    aws_context: re.Pattern[str]
    hex: re.Pattern[str]
    patterns: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...]


def _assignment(m: re.Match[str]) -> str:
    value = m.group(2)
    quote = value[0] if value[0] in "\"'" else ""
    return f"{m.group(1)}{quote}{MASK}{quote}"


@functools.cache
def _exact() -> _Exact:
    return _Exact(
        begin_key=re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
        end_key=re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----"),
        whole_key=re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)"
        ),
        log_prefix=re.compile(r"^(?:\ufeff)?(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?)?\s*"),
        pem_body=re.compile(r"[A-Za-z0-9+/=]*|[A-Za-z-]+: .*"),
        pem_line=re.compile(r"[A-Za-z0-9+/]{60,}={0,2}"),
        aws_secret=re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        aws_context=re.compile(r"(?i)aws|secret|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        hex=re.compile(r"[0-9a-f]{40}|[0-9A-F]{40}"),
        patterns=(
            # Bearer/Basic/token headers first: the generic assignment below would mask only
            # the word.
            (re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/=-]{16,}"), rf"\1\2{MASK}"),
            (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), MASK),
            (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
            (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), MASK),
            (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
            (re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}"), MASK),
            (
                re.compile(r"(hooks\.slack\.com/(?:services|workflows)/)[A-Za-z0-9/_-]+"),
                rf"\1{MASK}",
            ),
            (re.compile(r"(discord(?:app)?\.com/api/webhooks/\d+/)[A-Za-z0-9_-]+"), rf"\1{MASK}"),
            (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), MASK),
            (re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"), MASK),
            (re.compile(r"\bwhsec_[0-9A-Za-z]{20,}"), MASK),
            (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), MASK),
            (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), MASK),
            (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), MASK),
            (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), MASK),
            (re.compile(r"\bdckr_pat_[A-Za-z0-9_-]{20,}"), MASK),
            (re.compile(r"\bpypi-[A-Za-z0-9_-]{50,}"), MASK),
            (re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), MASK),
            (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
            # Azure storage and service bus connection strings, SAS signatures.
            (
                re.compile(
                    r"(?i)\b((?:AccountKey|SharedAccessKey|SharedAccessSignature|sig)=)[^;&\s\"']+"
                ),
                rf"\1{MASK}",
            ),
            # ``scheme://user:password@host`` and ``scheme://TOKEN@host``.
            (
                re.compile(r"(?i)((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^/\s:@]*:)[^@\s/]+(@)"),
                rf"\1{MASK}\2",
            ),
            (
                re.compile(r"(?i)((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://)[A-Za-z0-9_-]{20,}(@)"),
                rf"\1{MASK}\2",
            ),
            (re.compile(r"(?i)\b(pwd=)[^;\s\"']+"), rf"\1{MASK}"),  # ODBC connection strings
            # ``--password x``, ``-p=x`` style flags.
            (
                re.compile(
                    r"(?i)(--?(?:password|passwd|token|secret|api-key|apikey)[ =])[^\s\"']+"
                ),
                rf"\1{MASK}",
            ),
            # ``password=…``, ``GITHUB_TOKEN: …``, ``"client_secret": "a b"``, ``_authToken=…``: the
            # key may be any identifier holding a keyword; ``::`` (pytest node ids) is not a value.
            (
                re.compile(
                    r"(?i)((?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]{0,40}?(?:" + _KEYWORDS + r")"
                    r"[A-Za-z0-9_.-]{0,40}[\"']?\s*(?:=|:(?!:))\s*)"
                    r"(?!(?:true|false|null|none|yes|no)(?![^\s\"',;]))"
                    r"(\"[^\"]+\"|'[^']+'|(?![\"'])[^\s\"',;]{3,})"
                ),
                _assignment,
            ),
        ),
    )


def _aws_secret(line: str) -> str:
    """A 40-character key next to AWS or secret context; git SHAs (all hex) are left alone."""

    exact = _exact()

    def repl(m: re.Match[str]) -> str:
        return m.group() if exact.hex.fullmatch(m.group()) else MASK

    return exact.aws_secret.sub(repl, line)


def _pem_line(line: str, body: re.Pattern[str] | None = None) -> re.Match[str] | None:
    """The line's log prefix (timestamp, indentation) when the rest is PEM text (``body``,
    by default a PEM body or header line)."""
    exact = _exact()
    body = exact.pem_body if body is None else body
    prefix = exact.log_prefix.match(line)
    assert prefix is not None  # the pattern can match the empty string
    return prefix if body.fullmatch(line[prefix.end() :].rstrip()) else None


def _looks_random(text: str) -> bool:
    """Base64 of key material mixes upper case, lower case and digits; a rule line does not."""
    return (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )


class Masker:
    """Masks line after line, remembering an open private key block between calls."""

    def __init__(self) -> None:
        self.in_key = False

    def line(self, line: str) -> str:
        """One line (without its newline), masked."""
        if self.in_key:
            end = _exact().end_key.search(line)
            if end is not None:
                self.in_key = False
                line = MASK + line[end.end() :]
            else:
                prefix = _pem_line(line)
                if prefix is not None:
                    return line[: prefix.end()] + MASK if line[prefix.end() :].strip() else line
                self.in_key = False
        if "PRIVATE KEY" in line:
            exact = _exact()
            begins = list(exact.begin_key.finditer(line))
            if begins and exact.end_key.search(line, begins[-1].end()) is None:
                self.in_key = True
            line = exact.whole_key.sub(f"-----PRIVATE KEY {MASK}-----", line)
        return mask_line(line)

    def lines(self, text: str) -> str:
        """Masks every line of ``text``; the newlines are kept as they were."""
        return "\n".join(self.line(part) for part in text.split("\n"))

    def block(self, data: bytes) -> bytes:
        """Masks a block of whole lines; lines without a candidate are copied untouched."""
        out: list[bytes] = []
        pos = 0
        size = len(data)
        while pos < size:
            if self.in_key:
                start = pos
            else:
                hit = _PREFILTER_BYTES.search(data, pos)
                if hit is None:
                    break
                start = data.rfind(b"\n", pos, hit.start()) + 1 or pos
                start = max(start, pos)
            end = data.find(b"\n", start)
            end = size if end < 0 else end
            out.append(data[pos:start])
            text = data[start:end].decode("utf-8", "surrogateescape")
            out.append(self.line(text).encode("utf-8", "surrogateescape"))
            pos = end
            if pos < size:
                out.append(b"\n")
                pos += 1
        out.append(data[pos:])
        return b"".join(out)


def mask_line(line: str) -> str:
    """The exact patterns over one line (no private key state): every credential → ``***``."""
    exact = _exact()
    aws = exact.aws_context.search(line) is not None
    for pattern, repl in exact.patterns:
        line = pattern.sub(repl, line)
    if aws:
        line = _aws_secret(line)
    prefix = _pem_line(line, exact.pem_line)
    if prefix is not None and _looks_random(line[prefix.end() :]):
        line = line[: prefix.end()] + MASK  # a lone PEM body line (a key cut in an excerpt)
    return line


def mask(text: str) -> str:
    """``text`` with every credential replaced by ``***``; cheap when there is none."""
    if not text:
        return text
    # As bytes: RE2 would refuse a lone surrogate, and text from JSON may hold one.
    if _PREFILTER_TEXT_LINES.search(text.encode("utf-8", "surrogatepass")) is None:
        return text
    return Masker().lines(text)


def mask_lines(lines: Iterable[str]) -> list[str]:
    """Masks consecutive lines, a private key spanning several of them included."""
    masker = Masker()
    return [masker.line(line) for line in lines]


def mask_stream(chunks: Iterable[bytes], block: int = BLOCK) -> Iterator[bytes]:
    """A byte stream (a job log) masked on the fly, in blocks that end at a line end.

    Memory stays at about ``block`` plus the longest line (bounded by ``MAX_LINE``); a
    credential is never split between two blocks, since each block is cut after a newline.
    """
    masker = Masker()
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= block:
            cut = pending.rfind(b"\n", 0, MAX_LINE) + 1
            if cut == 0:
                if len(pending) < MAX_LINE:
                    break
                space = max(pending.rfind(b" ", 0, MAX_LINE), pending.rfind(b"\t", 0, MAX_LINE))
                cut = space + 1 or MAX_LINE
            head = bytes(pending[:cut])
            del pending[:cut]
            yield masker.block(head)
    if pending:
        yield masker.block(bytes(pending))
