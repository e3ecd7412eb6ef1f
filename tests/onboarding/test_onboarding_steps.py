"""The onboarding state machine and step validation: pure, no I/O."""

from __future__ import annotations

import itertools

import pytest

from voicebridge.numbers.uscc import check_char
from voicebridge.onboarding.steps import (
    ACTIONS, FIELDS, STATES, STEPS, StepConflict, blocking_step, diff, document_refs, next_state, validate_data,
)

ALL_APPROVED = {s: "approved" for s in STEPS}
ALLOWED = {
    ("not_started", "edit"): "draft", ("draft", "edit"): "draft", ("rejected", "edit"): "draft",
    ("draft", "submit"): "submitted", ("rejected", "submit"): "submitted",
    ("submitted", "approve"): "approved", ("submitted", "reject"): "rejected",
}


@pytest.mark.parametrize("step, state, action", list(itertools.product(STEPS, STATES, ACTIONS)))
def test_every_transition(step: str, state: str, action: str) -> None:
    expected = ALLOWED.get((state, action))
    if step == "number_order" and (state, action) == ("approved", "edit"):
        expected = "draft"  # a further order
    if expected is None:
        with pytest.raises(StepConflict) as info:
            next_state(step, state, action, ALL_APPROVED)
        assert step in info.value.detail and info.value.missing_step is None
    else:
        assert next_state(step, state, action, ALL_APPROVED) == expected


@pytest.mark.parametrize("step, states, missing", [
    ("activation", {}, None),
    ("filing", {}, "activation"),
    ("filing", {"activation": "submitted"}, "activation"),
    ("filing", {"activation": "approved"}, None),
    ("number_order", {"activation": "approved", "filing": "rejected"}, "filing"),
    ("number_order", {"activation": "draft", "filing": "approved"}, "activation"),
    ("number_order", {"activation": "approved", "filing": "approved"}, None),
])
def test_submit_needs_the_earlier_steps_approved(step: str, states: dict, missing: str | None) -> None:
    assert blocking_step(step, states) == missing
    if missing is None:
        assert next_state(step, "draft", "submit", states) == "submitted"
    else:
        with pytest.raises(StepConflict) as info:
            next_state(step, "draft", "submit", states)
        assert info.value.missing_step == missing
        assert f"the {missing} step must be approved" in info.value.detail


def test_draft_may_be_partial_but_submission_is_complete() -> None:
    data, errors = validate_data("activation", {"contact_name": " 王五 "})
    assert errors == [] and data == {"contact_name": "王五"}
    _, errors = validate_data("activation", data, complete=True)
    required = {f.name for f in FIELDS["activation"] if f.required} - {"contact_name"}
    assert {e.field for e in errors} == required
    assert {e.code for e in errors} == {"required"}


def test_number_order_defaults_on_submission() -> None:
    data, errors = validate_data("number_order", {"enterprise_name": "E", "app_name": "call_notify", "city": "北京"},
                                 complete=True)
    assert errors == []
    assert data["quantity"] == 1 and data["number_type"] == "fixed_line"


@pytest.mark.parametrize("step, field, value, code", [
    ("activation", "business_type", "fax", "enum"),
    ("activation", "contact_email", "not-an-email", "format"),
    ("activation", "contact_phone", "12345", "too_short"),
    ("activation", "contact_phone", "1900000000", "invalid"),
    ("activation", "contact_name", "", "required"),
    ("activation", "contact_name", 7, "type"),
    ("activation", "script", "x" * 501, "too_long"),
    ("activation", "surprise", "x", "unknown"),
    ("filing", "licence_code", "91110108MA01234560", "licence_code"),
    ("filing", "licence_code", "short", "licence_code"),
    ("filing", "handler_mobile", "010-12345678", "fixed_line_not_allowed"),
    ("filing", "licence_document", "../../etc/passwd", "format"),
    ("filing", "id_images", [], "size"),
    ("filing", "id_images", "doc_x", "type"),
    ("number_order", "app_name", "sms", "enum"),
    ("number_order", "number_type", "mobile", "enum"),
    ("number_order", "quantity", 0, "range"),
    ("number_order", "quantity", 21, "range"),
    ("number_order", "quantity", True, "type"),
])
def test_field_problems(step: str, field: str, value: object, code: str) -> None:
    _, errors = validate_data(step, {field: value})
    assert [(e.field, e.code) for e in errors] == [(field, code)], errors


def test_values_are_normalised() -> None:
    body = "91110108MA0123456"
    code = body + check_char(body)
    data, errors = validate_data("filing", {
        "licence_code": f"{code[:6]}-{code[6:].lower()}", "unit_phone": "010-12345678", "handler_mobile": "+86 139 1234 5678",
    })
    assert errors == []
    assert data == {"licence_code": code, "unit_phone": "+861012345678", "handler_mobile": "+8613912345678"}


def test_phones_use_the_tenant_region() -> None:
    data, errors = validate_data("activation", {"contact_phone": "020 7946 0958"}, "GB")
    assert errors == [] and data["contact_phone"] == "+442079460958"


def test_document_refs_and_diff() -> None:
    a, b = "doc_" + "a" * 20, "doc_" + "b" * 20
    data = {"licence_document": a, "id_images": [a, b], "legal_person": "x"}
    assert document_refs("filing", data) == [("licence_document", a), ("id_images/0", a), ("id_images/1", b)]
    assert diff({"x": 1, "y": 2}, {"y": 3, "z": 4}) == {"x": [1, None], "y": [2, 3], "z": [None, 4]}


def test_not_a_json_object() -> None:
    _, errors = validate_data("activation", ["x"])
    assert errors[0].field == "" and errors[0].code == "type"
