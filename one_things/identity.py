"""Checks of Chinese identity numbers: resident ID (GB 11643) and credit code (GB 32100)."""

from __future__ import annotations

import re

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def resident_id_check_digit(first17: str) -> str:
    """The 18th character of a resident ID whose first 17 digits are given."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_resident_id(value: str) -> str:
    """Return the resident ID upper-cased, or raise ValueError saying what is wrong."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValueError("a resident ID number has 17 digits and a final digit or X")
    if resident_id_check_digit(value[:17]) != value[17]:
        raise ValueError("the resident ID number's check digit is wrong")
    return value


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code whose first 17 are given."""
    total = sum(
        _CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True)
    )
    return _CREDIT_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str:
    """Return the unified social credit code upper-cased, or raise ValueError."""
    value = value.strip().upper()
    if len(value) != 18 or any(c not in _CREDIT_ALPHABET for c in value):
        raise ValueError("a unified social credit code has 18 characters from 0-9 and A-Y")
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValueError("the unified social credit code's check character is wrong")
    return value


def check_phone(value: str) -> str:
    """Return a mainland mobile number, or raise ValueError."""
    value = value.strip()
    if not re.fullmatch(r"1[3-9]\d{9}", value):
        raise ValueError("a mobile number has 11 digits and starts with 13-19")
    return value


def check_hk_macao_permit(value: str) -> str:
    """港澳居民来往内地通行证: H (Hong Kong) or M (Macao), 8 digits, and 2 for the issue."""
    value = value.strip().upper()
    if not re.fullmatch(r"[HM]\d{8}(\d{2})?", value):
        raise ValueError("a Mainland travel permit for HK/Macao residents is H or M and 8 digits")
    return value


def check_taiwan_permit(value: str) -> str:
    """台湾居民来往大陆通行证: 8 digits, and 2 for the issue."""
    value = value.strip()
    if not re.fullmatch(r"\d{8}(\d{2})?", value):
        raise ValueError("a Mainland travel permit for Taiwan residents has 8 digits")
    return value


def check_passport(value: str) -> str:
    """A passport number as the machine-readable zone writes it: 5 to 17 letters or digits."""
    value = value.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{5,17}", value):
        raise ValueError("a passport number has 5 to 17 letters or digits")
    return value
