import pytest

from one_things.identity import (
    check_credit_code,
    check_phone,
    check_resident_id,
    credit_code_check_char,
    resident_id_check_digit,
)


def test_resident_id_check_digit() -> None:
    assert resident_id_check_digit("11010519491231002") == "X"
    assert check_resident_id("11010519491231002x") == "11010519491231002X"
    with pytest.raises(ValueError, match="check digit"):
        check_resident_id("110105194912310021")
    with pytest.raises(ValueError, match="17 digits"):
        check_resident_id("1101051949")


def test_credit_code_check_character() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert check_credit_code("91350100M000100Y43") == "91350100M000100Y43"
    with pytest.raises(ValueError, match="check character"):
        check_credit_code("91350100M000100Y44")
    with pytest.raises(ValueError, match="18 characters"):
        check_credit_code("91350100M00")


def test_phone() -> None:
    assert check_phone(" 13800138000 ") == "13800138000"
    with pytest.raises(ValueError, match="11 digits"):
        check_phone("12800138000")
