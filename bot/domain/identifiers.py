"""统一社会信用代码 (GB 32100-2015) and mainland phone numbers (mobile, landline): validation and masking."""

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




# Phone numbers in free text, in the forms people type: full-width digits, spaces, dots or dashes
# between digit groups, +86 / 0086 / 86 in front, landlines with area code and extension, and bare
# numbers right after a word such as 电话. Matching runs on a copy with full-width characters folded
# one-for-one to ASCII, so match positions are valid in the original too.
_FOLD = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {
    "＋": "+", "－": "-", "—": "-", "–": "-", "．": ".", "。": ".", "（": "(", "）": ")", "\u3000": " ",
    "\u00a0": " ", "：": ":",
})
_SEP = r"[ \-.]?"
_MOBILE_IN_TEXT = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)?86{_SEP}|\(\+?86\){_SEP})?1{_SEP}[3-9](?:{_SEP}\d){{9}}(?!\d)")
_EXTENSION_IN_TEXT = r"(?:\s*(?:-|转|分机|ext\.?|x|#)\s*\d{1,6})?"
_LANDLINE_IN_TEXT = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)86{_SEP}\(?0?(?P<iarea>[1-9]\d{{1,2}})\)?|\(?(?P<area>0\d{{2,3}})\)?)"
    rf"{_SEP}(?P<local>[1-9]\d{{2,3}}{_SEP}\d{{4}})(?P<ext>{_EXTENSION_IN_TEXT})(?!\d)", re.IGNORECASE)
_NUMBER_AFTER_WORD = re.compile(
    rf"(?P<word>(?:联系)?(?:电话|手机|座机|固话|号码|联系方式)|tel|phone)(?P<gap>\s*(?:[:是为]\s*)?)"
    rf"(?P<number>\d(?:{_SEP}\d){{5,13}})(?!\d)", re.IGNORECASE)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _mask_mobile_match(m: re.Match[str], _original: str) -> str:
    return mask_mobile(_digits(m.group())[-11:])


def _mask_landline_match(m: re.Match[str], _original: str) -> str:
    area = m.group("area") or "0" + m.group("iarea")
    ext = "-***" if m.group("ext") else ""
    return f"{area}-****{_digits(m.group('local'))[-4:]}{ext}"


def _mask_number_after_word(m: re.Match[str], original: str) -> str:
    keep = original[:m.start("number") - m.start()]  # the word and what follows it, as typed
    return f"{keep}****{_digits(m.group('number'))[-4:]}"


def mask_phones_in_text(text: str) -> str:
    """Mask every phone number in free text (logs): mobiles as 139****3333, landlines as 0571-****6666."""
    folded = text.translate(_FOLD)
    for pattern, mask in ((_MOBILE_IN_TEXT, _mask_mobile_match), (_LANDLINE_IN_TEXT, _mask_landline_match),
                          (_NUMBER_AFTER_WORD, _mask_number_after_word)):
        out, folded_out, last = [], [], 0
        for m in pattern.finditer(folded):
            replacement = mask(m, text[m.start():m.end()])
            out += [text[last:m.start()], replacement]
            folded_out += [folded[last:m.start()], replacement]
            last = m.end()
        if out:
            text = "".join([*out, text[last:]])
            folded = "".join([*folded_out, folded[last:]])
    return text



# A landline as people write it: area code (0 and 2–3 digits, optionally in brackets), a 7–8 digit
# local number, and an optional extension after -, 转, 分机, ext or #.
_LANDLINE = re.compile(
    r"^\(?(?P<area>0[1-9]\d{1,2})\)?-?(?P<local>[1-9]\d{6,7})"
    r"(?:(?:-|转|分机|ext\.?|x|#)(?P<ext>\d{1,6}))?$", re.IGNORECASE)


def normalize_phone(raw: str) -> str:
    """A mobile as 13800138000, a landline as 0571-88886666 or 0571-88886666-123; else InvalidInput('phone')."""
    compact = re.sub(r"[\s()（）]", "", raw.translate(_FOLD)).replace("—", "-")
    try:
        return normalize_mobile(compact)
    except InvalidInput:
        pass
    m = _LANDLINE.match(re.sub(r"^(?:\+?86|0086)-?(?=[1-9])", "0", compact))
    if m is None:
        raise InvalidInput("phone", value=raw[:20])
    ext = f"-{m.group('ext')}" if m.group("ext") else ""
    return f"{m.group('area')}-{m.group('local')}{ext}"


def mask_mobile(phone: str) -> str:
    """138****8000 (a landline: 0571-****6666): the form every digest, log and report uses."""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[7:]}"
    m = _LANDLINE.match(phone)
    if m is not None:
        return f"{m.group('area')}-****{m.group('local')[-4:]}" + ("-***" if m.group("ext") else "")
    return "****"
