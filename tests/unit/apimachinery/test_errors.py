"""Errors render as Kubernetes renders them and survive the trip through a Status object."""

from apimachinery import errors
from apimachinery.errors import FieldError


def test_invalid_lists_every_cause_with_its_field_path():
    error = errors.invalid("Deployment", "web", [
        FieldError("spec.replicas", errors.FIELD_VALUE_INVALID, "must be greater than or equal to 0", -1),
        FieldError("spec.template.spec.volumes[0].name", errors.FIELD_VALUE_NOT_FOUND, "", "data")], "apps")
    assert error.code == 422
    assert str(error) == ('Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater '
                          'than or equal to 0, spec.template.spec.volumes[0].name: Not found: "data"]')
    assert [c["field"] for c in error.causes] == ["spec.replicas", "spec.template.spec.volumes[0].name"]


def test_a_status_round_trip_gives_back_the_same_typed_error():
    original = errors.conflict("pods", "p", errors.STALE_OBJECT_TEXT)
    again = errors.ApiError.from_status(original.to_status())
    assert isinstance(again, errors.Conflict)
    assert (again.code, again.reason, str(again)) == (409, "Conflict", str(original))


def test_grpc_codes_follow_the_design():
    assert errors.not_found("pods", "p").grpc_code_name == "NOT_FOUND"
    assert errors.already_exists("pods", "p").grpc_code_name == "ALREADY_EXISTS"
    assert errors.conflict("pods", "p", "x").grpc_code_name == "ABORTED"
    assert errors.invalid("Pod", "p", []).grpc_code_name == "INVALID_ARGUMENT"
    assert errors.gone("old").grpc_code_name == "OUT_OF_RANGE"
    assert errors.forbidden("pods", "p", "no").grpc_code_name == "PERMISSION_DENIED"
