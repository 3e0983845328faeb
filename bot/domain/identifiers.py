"""统一社会信用代码 (GB 32100-2015) and mainland mobile numbers: validation and masking."""

from __future__ import annotations

import re

from bot.domain.errors import InvalidInput

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_FULLWIDTH = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {
    chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)
})


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def normalize_uscc(raw: str) -> str:
    """Return the canonical code or raise InvalidInput saying which position looks wrong.

    Error codes: uscc_length (params: length), uscc_char (position, char),
    uscc_region (position), uscc_check (expected is withheld on purpose: it would invite guessing).
    """
    code = re.sub(r"[\s\-]", "", raw.translate(_FULLWIDTH)).upper()
    if len(code) != 18:
        raise InvalidInput("uscc_length", length=len(code))
    for pos, char in enumerate(code, start=1):
        if char not in _USCC_VALUE:
            raise InvalidInput("uscc_char", position=pos, char=char)
    for pos in range(3, 9):
        if not code[pos - 1].isdigit():
            raise InvalidInput("uscc_region", position=pos, char=code[pos - 1])
    if uscc_check_char(code[:17]) != code[17]:
        raise InvalidInput("uscc_check", position=18, char=code[17])
    return code


_PHONE_PREFIX = re.compile(r"^(\+?86|0086)")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw: str) -> str:
    """Strip +86/0086/86, spaces and dashes; raise InvalidInput('phone') unless a mainland mobile."""
    digits = re.sub(r"[\s\-()（）]", "", raw.translate(_FULLWIDTH))
    if len(digits) > 11:
        digits = _PHONE_PREFIX.sub("", digits)
    if not _MOBILE.match(digits):
        raise InvalidInput("phone", value=raw[:20])
    return digits


def mask_mobile(phone: str) -> str:
    """138****8000: the form every digest, log and report uses."""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[7:]}"
    return "****"


_MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d(?:[ \-]?\d){8}(?!\d)")


def mask_mobiles_in_text(text: str) -> str:
    """Mask every mainland mobile in free text, also when typed with spaces or dashes."""
    return _MOBILE_IN_TEXT.sub(lambda m: mask_mobile(re.sub(r"[ \-]", "", m.group())), text)
