"""Resource quantities (`500m`, `1Gi`, `1e3`), parsed and printed as Kubernetes does.

A port of k8s.io/apimachinery/pkg/api/resource (quantity.go, suffix.go, amount.go). A `Quantity`
is an exact fixed-point number (`decimal.Decimal`, never float) plus the format family its text
used: BinarySI (`Ki` ... `Ei`), DecimalSI (`n u m "" k M G T P E`) or DecimalExponent (`1e3`).

Guarantees, as in Kubernetes:
- `Quantity.parse` accepts exactly what `resource.ParseQuantity` accepts and fails with the same
  messages (e.g. "quantities must match the regular expression '...'").
- Values finer than 1n are rounded up (away from zero) to 1n; BinarySI values are capped at
  2^63-1 in magnitude; a BinarySI value strictly between -1 and 1 becomes DecimalSI.
- `canonical()` is `CanonicalizeBytes`: no fractional digits, the largest suffix that loses no
  precision, same format family (`1.5` -> `1500m`, `0.5Gi` -> `512Mi`, `2000` -> `2k`).
- `str(q)` is what Kubernetes serializes (`Quantity.String`): the input text when the parser
  kept it (canonical-looking input such as `+1` or `1e03`), else `canonical()`.
- Equality, hashing and ordering compare values only (`1Ki == 1024`), like `Quantity.Cmp`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_UP, Context, Decimal
from typing import Any

from apimachinery.errors import FIELD_VALUE_INVALID, FieldError

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
ERR_FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE}'"
ERR_NUMERIC = "unable to parse numeric part of quantity"
ERR_SUFFIX = "unable to parse quantity's suffix"
IS_NEGATIVE_ERROR_MSG = "must be greater than or equal to 0"

# Exact arithmetic: enough precision that + and - never round.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)
_NANO = Decimal("1e-9")
_MAX_ALLOWED = Decimal(2**63 - 1)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT64_FACTORS = 18
_DIGITS = frozenset("0123456789")
_SUFFIX_CHARS = frozenset("eEinumkKMGTP")

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_BY_EXPONENT = {exp: suffix for suffix, exp in _DECIMAL_SUFFIXES.items()}
_BINARY_BY_POWER = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]


@dataclass(frozen=True)
class _Scanned:
    positive: bool
    value: str  # sign + number as written, e.g. "-1.5"
    num: str  # integer digits without leading zeros ("0" if none)
    denom: str  # fraction digits as written
    suffix: str


def _take_digits(s: str, pos: int) -> int:
    while pos < len(s) and s[pos] in _DIGITS:
        pos += 1
    return pos


def _scan(s: str) -> _Scanned:
    """parseQuantityString: split `s` into sign, number and suffix (lenient, like Kubernetes)."""
    pos, end = 0, len(s)
    positive = not s.startswith("-")
    if s[:1] in ("-", "+"):
        pos = 1
    while pos < end and s[pos] == "0":
        pos += 1
    if pos == end:
        return _Scanned(positive, "0", "0", "", "")
    num_end = _take_digits(s, pos)
    num = s[pos:num_end] or "0"
    pos, denom = num_end, ""
    if pos < end and s[pos] == ".":
        denom_end = _take_digits(s, pos + 1)
        denom, pos = s[pos + 1 : denom_end], denom_end
    value = s[:pos]
    suffix_start = pos
    while pos < end and s[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and s[pos] in "+-":
        pos += 1
    if _take_digits(s, pos) != end:
        raise ValueError(ERR_FORMAT_WRONG)
    return _Scanned(positive, value, num, denom, s[suffix_start:])


def _wrap_int32(n: int) -> int:
    return (n + 2**31) % 2**32 - 2**31


def _interpret(suffix: str) -> tuple[int, int, str]:
    """suffixer.interpret: suffix -> (base, exponent, format)."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:].lstrip("+-")
        int64_sized = len(digits.lstrip("0")) <= 19
        if digits and int64_sized and len(suffix) - 1 - len(digits) <= 1 and set(digits) <= _DIGITS:
            parsed = int(suffix[1:])
            if _INT64_MIN <= parsed <= _INT64_MAX:
                return 10, _wrap_int32(parsed), DECIMAL_EXPONENT
    raise ValueError(ERR_SUFFIX)


def _fast_path(sc: _Scanned, exponent: int, fmt: str) -> bool:
    """Whether Kubernetes' int64 fast path reads this number (it never fails on digits)."""
    if fmt == BINARY_SI:
        if sc.denom:
            return False
        precision = 15 - len(sc.num) - exponent * 3 // 10 - 1
        return precision >= 0 and int(sc.num) << exponent <= _INT64_MAX
    precision = _MAX_INT64_FACTORS - len(sc.num) - len(sc.denom)
    return precision >= 0 and exponent - len(sc.denom) >= -9


def _kept_text(text: str, sc: _Scanned, exponent: int, fmt: str) -> str | None:
    """The input text the fast path keeps as the serialized form (`+1`, `1e03`), if any."""
    if not _fast_path(sc, exponent, fmt):
        return None
    if fmt == BINARY_SI:
        return text if int(sc.num) & 0x07 != 0 else None
    shifted = sc.num + sc.denom
    scale = exponent - len(sc.denom)
    canonical_like = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return text if canonical_like else None


def _amount(sc: _Scanned, base: int, exponent: int, fmt: str) -> tuple[Decimal, str]:
    if not any(ch in _DIGITS for ch in sc.value):
        # The fast path reads a digit-less number ("k", ".") as 0; the slow path rejects it.
        if not _fast_path(sc, exponent, fmt):
            raise ValueError(ERR_NUMERIC)
        return Decimal(0), fmt
    amount = Decimal(f"{sc.num}.{sc.denom or '0'}")
    amount = amount.scaleb(exponent, _EXACT) if base == 10 else _EXACT.multiply(amount, 2**exponent)
    if amount and amount.as_tuple().exponent < -9:  # type: ignore[operator]
        amount = amount.quantize(_NANO, rounding=ROUND_UP, context=_EXACT)
    if fmt == BINARY_SI and amount > _MAX_ALLOWED:
        amount = _MAX_ALLOWED
    if fmt == BINARY_SI and 0 < amount < 1:
        fmt = DECIMAL_SI
    return (amount if sc.positive else _EXACT.minus(amount)), fmt


def _coerce_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"quantity must be a string or a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(ERR_FORMAT_WRONG)
    return repr(value)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Quantity:
    """An exact quantity and its format family; build one with `Quantity.parse`."""

    amount: Decimal
    format: str = DECIMAL_SI
    _text: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, value: str | int | float | Quantity) -> Quantity:
        """`resource.ParseQuantity`; numbers are read as their JSON text. Raises ValueError."""
        if isinstance(value, Quantity):
            return value
        text = _coerce_text(value)
        if not text:
            raise ValueError(ERR_FORMAT_WRONG)
        if text == "0":
            return cls(Decimal(0), DECIMAL_SI, "0")
        scanned = _scan(text)
        base, exponent, fmt = _interpret(scanned.suffix)
        amount, fmt_out = _amount(scanned, base, exponent, fmt)
        return cls(amount, fmt_out, _kept_text(text, scanned, exponent, fmt))

    def as_decimal(self) -> Decimal:
        return self.amount

    def is_zero(self) -> bool:
        return not self.amount

    def sign(self) -> int:
        return (self.amount > 0) - (self.amount < 0)

    def value(self) -> int:
        """`Quantity.Value`: rounded up, away from zero; saturates at the int64 range."""
        return _scaled_int(self.amount)

    def milli_value(self) -> int:
        """`Quantity.MilliValue`: ceil(q * 1000), away from zero; saturates at the int64 range."""
        return _scaled_int(self.amount.scaleb(3, _EXACT))

    def canonical(self) -> str:
        """`CanonicalizeBytes`: the canonical text, e.g. `1536Mi`, `1500m`, `10e3`."""
        if not self.amount:
            return "0"
        fmt = self.format
        if fmt == BINARY_SI:
            if -1024 < self.amount < 1024 or self.amount != self.amount.to_integral_value():
                fmt = DECIMAL_SI
            else:
                return _binary_text(int(self.amount))
        return _decimal_text(self.amount, fmt)

    def __str__(self) -> str:
        return self._text if self._text is not None else self.canonical()

    def __add__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.is_zero() else self.format
        return Quantity(_EXACT.add(self.amount, other.amount), fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        if not isinstance(other, Quantity):
            return NotImplemented
        fmt = other.format if self.is_zero() else self.format
        return Quantity(_EXACT.subtract(self.amount, other.amount), fmt)

    def __neg__(self) -> Quantity:
        return Quantity(_EXACT.minus(self.amount), self.format)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount == other.amount

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.amount < other.amount

    def __hash__(self) -> int:
        return hash(self.amount)


def _scaled_int(amount: Decimal) -> int:
    if amount >= _MAX_ALLOWED:
        return _INT64_MAX
    if amount <= _INT64_MIN:
        return _INT64_MIN
    return int(amount.to_integral_value(rounding=ROUND_UP, context=_EXACT))


def _binary_text(number: int) -> str:
    magnitude, power = abs(number), 0
    while magnitude >= 1024 and magnitude % 1024 == 0 and power < len(_BINARY_BY_POWER) - 1:
        magnitude //= 1024
        power += 1
    sign = "-" if number < 0 else ""
    return f"{sign}{magnitude}{_BINARY_BY_POWER[power]}"


def _decimal_text(amount: Decimal, fmt: str) -> str:
    """AsCanonicalBytes + suffix: drop trailing zeros, then lower the exponent to a multiple of 3."""
    sign, digit_tuple, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    written = "".join(map(str, digit_tuple))  # strings, not int(): no 4300-digit conversion limit
    digits = written.rstrip("0") or "0"
    exponent += len(written) - len(digits)
    shift = exponent % 3
    digits, exponent = digits + "0" * shift, exponent - shift
    if fmt == DECIMAL_SI:
        # Kubernetes has no suffix past E (it would print the bare mantissa); we scale to E instead.
        if exponent > 18:
            digits, exponent = digits + "0" * (exponent - 18), 18
        suffix = _DECIMAL_BY_EXPONENT.get(exponent, f"e{exponent}")
    else:
        suffix = f"e{exponent}" if exponent else ""
    return f"{'-' if sign else ''}{digits}{suffix}"


def parse_quantity(value: str | int | float | Quantity) -> Quantity:
    """`resource.ParseQuantity`; raises ValueError with Kubernetes' message on bad input."""
    return Quantity.parse(value)


def validate_quantity(value: Any, field: str) -> list[FieldError]:
    """A FieldValueInvalid error at `field` if `value` is not a quantity, else no errors."""
    try:
        Quantity.parse(value)
    except ValueError as err:
        return [FieldError(field, FIELD_VALUE_INVALID, str(err), value)]
    return []


def validate_non_negative_quantity(value: Any, field: str) -> list[FieldError]:
    """`ValidateNonnegativeQuantity`: a valid quantity that is >= 0."""
    try:
        quantity = Quantity.parse(value)
    except ValueError as err:
        return [FieldError(field, FIELD_VALUE_INVALID, str(err), value)]
    if quantity.sign() < 0:
        return [FieldError(field, FIELD_VALUE_INVALID, IS_NEGATIVE_ERROR_MSG, str(quantity))]
    return []
