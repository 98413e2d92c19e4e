"""Resource quantities parse, print and compare as Kubernetes' resource.Quantity does.

Expected values come from k8s.io/apimachinery pkg/api/resource (quantity_test.go) and from
running Kubernetes' own ParseQuantity/String on the same inputs.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from apimachinery.errors import FIELD_VALUE_INVALID, FieldError
from apimachinery.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    ERR_FORMAT_WRONG,
    ERR_NUMERIC,
    ERR_SUFFIX,
    Quantity,
    parse_quantity,
    validate_non_negative_quantity,
    validate_quantity,
)

REGEX_MESSAGE = ("quantities must match the regular expression "
                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")

# input, canonical form, format family
CANONICAL = [
    ("1.5", "1500m", DECIMAL_SI),
    ("0.5Gi", "512Mi", BINARY_SI),
    ("1.5Gi", "1536Mi", BINARY_SI),
    ("1024Mi", "1Gi", BINARY_SI),
    ("1025Mi", "1025Mi", BINARY_SI),
    ("1Gi", "1Gi", BINARY_SI),
    ("0.5Ki", "512", BINARY_SI),
    ("1.1Ki", "1126400m", BINARY_SI),
    ("100m", "100m", DECIMAL_SI),
    ("1000m", "1", DECIMAL_SI),
    ("2000", "2k", DECIMAL_SI),
    ("1000M", "1G", DECIMAL_SI),
    ("100.035k", "100035", DECIMAL_SI),
    ("0.1m", "100u", DECIMAL_SI),
    ("1e3", "1e3", DECIMAL_EXPONENT),
    ("1E3", "1e3", DECIMAL_EXPONENT),
    ("1e4", "10e3", DECIMAL_EXPONENT),
    ("0.5e0", "500e-3", DECIMAL_EXPONENT),
    ("1e0", "1", DECIMAL_EXPONENT),
    ("12E", "12E", DECIMAL_SI),
    ("0.001E", "1P", DECIMAL_SI),
    ("-1.5", "-1500m", DECIMAL_SI),
    ("-1536Mi", "-1536Mi", BINARY_SI),
    ("0", "0", DECIMAL_SI),
    ("0Gi", "0", BINARY_SI),
    ("-0", "0", DECIMAL_SI),
    ("1.G", "1G", DECIMAL_SI),
    (".001", "1m", DECIMAL_SI),
    ("+1Ki", "1Ki", BINARY_SI),
]


@pytest.mark.parametrize(("text", "canonical", "fmt"), CANONICAL, ids=[c[0] for c in CANONICAL])
def test_canonical_form_matches_kubernetes(text: str, canonical: str, fmt: str) -> None:
    quantity = Quantity.parse(text)
    assert quantity.canonical() == canonical
    assert quantity.format == fmt


def test_quantity_1_5_canonicalises_to_1500m() -> None:
    assert Quantity.parse("1.5").canonical() == "1500m"


def test_half_a_gibibyte_canonicalises_to_512mi() -> None:
    assert Quantity.parse("0.5Gi").canonical() == "512Mi"


def test_2000_canonicalises_to_2k() -> None:
    assert Quantity.parse("2000").canonical() == "2k"


def test_decimal_exponent_keeps_its_format_family() -> None:
    assert str(Quantity.parse("1e3")) == "1e3"


@pytest.mark.parametrize(("text", "serialized"), [
    ("+1", "+1"), ("1E+3", "1E+3"), ("1e03", "1e03"), ("01Ki", "01Ki"), ("1.G", "1.G"),
    ("1.5", "1500m"), ("1000m", "1"), ("1024Mi", "1Gi"),
])
def test_str_keeps_input_text_exactly_when_kubernetes_does(text: str, serialized: str) -> None:
    assert str(Quantity.parse(text)) == serialized


@pytest.mark.parametrize(("text", "canonical"), [
    ("0.0000000001", "1n"),
    ("3.001n", "4n"),
    ("1.1E-9", "2e-9"),
    ("0.000000000001Ki", "2n"),
    ("-0.0000000001", "-1n"),
    ("1.234567890123456789", "1234567891n"),
])
def test_sub_nano_precision_rounds_up_away_from_zero(text: str, canonical: str) -> None:
    assert Quantity.parse(text).canonical() == canonical


def test_binary_value_below_one_becomes_decimal_si() -> None:
    quantity = Quantity.parse("0.000000000001Ki")
    assert quantity.format == DECIMAL_SI


def test_binary_quantity_is_capped_at_int64_max() -> None:
    assert Quantity.parse("8Ei").as_decimal() == Decimal(2**63 - 1)
    assert Quantity.parse("-8Ei").as_decimal() == -Decimal(2**63 - 1)


def test_decimal_quantity_keeps_more_than_28_digits_exactly() -> None:
    text = "-49206507098297279546.169016159M"
    assert Quantity.parse(text).canonical() == "-49206507098297279546169016159m"


@pytest.mark.parametrize(("text", "message"), [
    ("1GB", REGEX_MESSAGE),
    ("1gi", REGEX_MESSAGE),
    ("1.2.3", REGEX_MESSAGE),
    ("", REGEX_MESSAGE),
    ("abc", REGEX_MESSAGE),
    ("1 Gi", REGEX_MESSAGE),
    (" 1", REGEX_MESSAGE),
    ("1 ", REGEX_MESSAGE),
    ("1KI", REGEX_MESSAGE),
    ("--1", ERR_SUFFIX),
    ("1ki", ERR_SUFFIX),
    ("0.1mi", ERR_SUFFIX),
    ("1e", ERR_SUFFIX),
    ("1e+", ERR_SUFFIX),
    ("1Ee3", ERR_SUFFIX),
    ("1i", ERR_SUFFIX),
    ("Ei", ERR_NUMERIC),
    (".e-10", ERR_NUMERIC),
])
def test_malformed_quantity_is_rejected_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        Quantity.parse(text)
    assert str(raised.value) == message


def test_lowercase_gi_is_rejected() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        Quantity.parse("1gi")


def test_error_constant_is_kubernetes_regex_message() -> None:
    assert ERR_FORMAT_WRONG == REGEX_MESSAGE


@pytest.mark.parametrize("text", ["k", ".", "-", "+", "Ki", "e3"])
def test_digitless_numbers_read_as_zero_like_kubernetes_fast_path(text: str) -> None:
    assert Quantity.parse(text).is_zero()


@pytest.mark.parametrize(("value", "canonical"), [
    (2, "2"), (0.5, "500m"), (1.5, "1500m"), (1e-05, "10e-6"), (1e16, "10e15"), (-3, "-3"),
])
def test_json_numbers_parse_like_the_text_json_dumps_would_send(value: float, canonical: str) -> None:
    assert Quantity.parse(value).canonical() == canonical


@pytest.mark.parametrize("value", [True, None, [1], float("nan"), float("inf")])
def test_non_quantity_values_are_rejected(value: object) -> None:
    with pytest.raises(ValueError):
        Quantity.parse(value)  # type: ignore[arg-type]


# input, value(), milli_value()
VALUES = [
    ("1.5", 2, 1500),
    ("100m", 1, 100),
    ("1Gi", 1073741824, 1073741824000),
    ("1.1Ki", 1127, 1126400),
    ("0.0000000001", 1, 1),
    ("1.234567890123456789", 2, 1235),
    ("-1.5", -2, -1500),
    ("-1m", -1, -1),
    ("0", 0, 0),
]


@pytest.mark.parametrize(("text", "value", "milli"), VALUES, ids=[v[0] for v in VALUES])
def test_value_and_milli_value_round_up_away_from_zero(text: str, value: int, milli: int) -> None:
    quantity = Quantity.parse(text)
    assert quantity.value() == value
    assert quantity.milli_value() == milli


def test_value_saturates_at_int64_instead_of_overflowing() -> None:
    assert Quantity.parse("8Ei").milli_value() == 2**63 - 1
    assert Quantity.parse("1000E").value() == 2**63 - 1


def test_equal_values_in_different_formats_are_equal_and_hash_alike() -> None:
    assert Quantity.parse("1Ki") == Quantity.parse("1024")
    assert hash(Quantity.parse("1Ki")) == hash(Quantity.parse("1024"))
    assert Quantity.parse("1") == Quantity.parse("1000m")
    assert len({Quantity.parse("1"), Quantity.parse("1000m"), Quantity.parse("1e0")}) == 1


def test_quantities_order_by_value() -> None:
    ordered = sorted(Quantity.parse(t) for t in ["1Gi", "100m", "1G", "2", "-1"])
    assert [str(q) for q in ordered] == ["-1", "100m", "2", "1G", "1Gi"]
    assert Quantity.parse("999Mi") < Quantity.parse("1Gi") <= Quantity.parse("1024Mi")


def test_addition_keeps_left_format_and_is_exact() -> None:
    total = Quantity.parse("1Gi") + Quantity.parse("512Mi")
    assert str(total) == "1536Mi"
    assert total.format == BINARY_SI
    assert str(Quantity.parse("100m") + Quantity.parse("1.9")) == "2"


def test_adding_to_zero_takes_the_other_format() -> None:
    assert (Quantity.parse("0") + Quantity.parse("1Ki")).format == BINARY_SI


def test_subtraction_can_go_negative() -> None:
    assert str(Quantity.parse("500m") - Quantity.parse("1")) == "-500m"
    assert str(-Quantity.parse("2Ki")) == "-2Ki"


def test_arithmetic_drops_the_kept_input_text() -> None:
    assert str(Quantity.parse("+1") + Quantity.parse("0")) == "1"


def test_quantity_is_frozen() -> None:
    quantity = Quantity.parse("1")
    with pytest.raises(AttributeError):
        quantity.format = BINARY_SI  # type: ignore[misc]


def test_parse_quantity_is_quantity_parse() -> None:
    assert parse_quantity("2Gi") == Quantity.parse("2Gi")
    assert parse_quantity(Quantity.parse("1")) == Quantity.parse("1")


def test_validate_quantity_accepts_a_good_quantity() -> None:
    assert validate_quantity("250m", "spec.containers[0].resources.limits[cpu]") == []


def test_validate_quantity_reports_field_error_for_bad_input() -> None:
    errors = validate_quantity("1GB", "spec.containers[0].resources.limits[memory]")
    assert errors == [FieldError("spec.containers[0].resources.limits[memory]", FIELD_VALUE_INVALID,
                                 REGEX_MESSAGE, "1GB")]


def test_validate_non_negative_quantity_rejects_negative_values() -> None:
    errors = validate_non_negative_quantity("-1.5", "spec.hard[cpu]")
    assert errors == [FieldError("spec.hard[cpu]", FIELD_VALUE_INVALID,
                                 "must be greater than or equal to 0", "-1500m")]


def test_validate_non_negative_quantity_accepts_zero_and_reports_parse_errors() -> None:
    assert validate_non_negative_quantity("0", "spec.hard[cpu]") == []
    assert validate_non_negative_quantity("x", "spec.hard[cpu]")[0].detail == REGEX_MESSAGE
