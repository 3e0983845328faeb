"""统一社会信用代码 and mobile numbers: the check digit, the position that looks wrong, masking."""

from __future__ import annotations

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.identifiers import (
    mask_mobile,
    mask_phones_in_text,
    normalize_mobile,
    normalize_phone,
    normalize_uscc,
)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "9131000063159284XQ", "91330825MA2DH4KX39"])
def test_valid_codes_pass(code):
    assert normalize_uscc(code) == code


def test_spaces_lowercase_and_full_width_are_normalised():
    assert normalize_uscc(" 9135 0100 m000 100y43 ") == "91350100M000100Y43"
    assert normalize_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("code", "error", "params"),
    [
        ("9135010", "uscc_length", {"length": 7}),
        ("91350100M000100Y4", "uscc_length", {"length": 17}),
        ("91350100M0I0100Y43", "uscc_char", {"position": 11, "char": "I"}),
        ("9135A100M000100Y43", "uscc_region", {"position": 5, "char": "A"}),
        ("91350100M000100Y44", "uscc_check", {"position": 18, "char": "4"}),
    ],
)
def test_invalid_codes_name_the_position(code, error, params):
    with pytest.raises(InvalidInput) as exc:
        normalize_uscc(code)
    assert exc.value.code == error
    assert params.items() <= exc.value.params.items()


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000"])
def test_mobile_forms(raw):
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "abc", "", "02512345678"])
def test_bad_mobiles(raw):
    with pytest.raises(InvalidInput):
        normalize_mobile(raw)


def test_masking():
    assert mask_mobile("13800138000") == "138****8000"
    assert mask_phones_in_text("电话13800138000，备用 13912345678") == "电话138****8000，备用 139****5678"
    assert mask_phones_in_text("手机 138 0013 8000 或 139-1234-5678") == "手机 138****8000 或 139****5678"
    assert mask_phones_in_text("订单号 2138001380001") == "订单号 2138001380001"


def test_phone_masking_leaves_other_numbers_alone():
    from bot.domain.identifiers import mask_phones_in_text
    text = "编号 QH20261125-0007，2026-11-25 投产，金额 1300000 元，代码 91330825MA2DH4KX39，13.5 吨"
    assert mask_phones_in_text(text) == text
    assert mask_phones_in_text("电话：0571-88886666，手机 +86 139 1111 3333") == "电话：0571-****6666，手机 139****3333"


@pytest.mark.parametrize(("raw", "stored"), [
    ("0571-88886666", "0571-88886666"),
    ("0571-88886666-123", "0571-88886666-123"),
    ("0571-88886666转123", "0571-88886666-123"),
    ("(0571) 8888 6666", "0571-88886666"),
    ("０５７１－８８８８６６６６", "0571-88886666"),
    ("010-6655443 分机 8", "010-6655443-8"),
    ("+86 138 0013 8000", "13800138000"),
])
def test_landlines_with_area_code_and_extension_are_phone_numbers(raw, stored):
    assert normalize_phone(raw) == stored


@pytest.mark.parametrize("raw", ["88886666", "0571-888", "12345", "0571-88886666-1234567", "电话"])
def test_what_is_not_a_phone_number_is_refused(raw):
    with pytest.raises(InvalidInput):
        normalize_phone(raw)


def test_a_landline_is_masked_to_its_area_code_and_last_four_digits():
    assert mask_mobile("0571-88886666-123") == "0571-****6666-***"
