"""Required-on-create custom attributes, pure: who must give what, form strings to
values, the missing list of channel tickets. Worked examples and Hypothesis properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ticket_core.custom_attributes import AttributeDef, AttributeKind, InvalidAttribute
from ticket_core.required_attributes import (
    CONTACT,
    Audience,
    MissingRequired,
    check_on_create,
    form_fields,
    from_form,
    missing_required,
    required_for,
)

AGENTS = frozenset({"administrator", "lead_specialist", "specialist"})
DEFS = {
    "product": AttributeDef(
        "product",
        "Product",
        AttributeKind.LIST,
        ("printer", "laptop"),
        required_on_create=True,
        visible_to_contact=True,
    ),
    "contract": AttributeDef("contract", "Contract", AttributeKind.NUMBER, required_on_create=True),
    "audit_ref": AttributeDef(
        "audit_ref",
        "Audit reference",
        AttributeKind.STRING,
        required_on_create=True,
        visible_to_roles=frozenset({"administrator"}),
    ),
    "note": AttributeDef("note", "Note", AttributeKind.STRING, visible_to_contact=True),
    "due": AttributeDef("due", "Due", AttributeKind.DATE),
}


def test_each_audience_must_give_what_it_sees() -> None:
    assert [d.key for d in required_for(DEFS, CONTACT)] == ["product"]
    assert [d.key for d in required_for(DEFS, Audience("specialist"))] == ["contract", "product"]
    assert [d.key for d in required_for(DEFS, Audience("administrator"))] == [
        "audit_ref",
        "contract",
        "product",
    ]
    assert check_on_create(DEFS, {"product": "printer", "note": " "}, CONTACT) == {
        "product": "printer"
    }


def test_refusals_name_the_attribute() -> None:
    with pytest.raises(MissingRequired) as missing:
        check_on_create(DEFS, {"product": "printer"}, Audience("administrator"))
    assert missing.value.keys == ["audit_ref", "contract"]
    assert "'audit_ref' (Audit reference), 'contract' (Contract)" in str(missing.value)
    with pytest.raises(MissingRequired, match="required attribute 'product' \\(Product\\)"):
        check_on_create(DEFS, {"product": ""}, CONTACT)
    with pytest.raises(InvalidAttribute, match="'contract' is not visible to contacts"):
        check_on_create(DEFS, {"product": "printer", "contract": 3}, CONTACT)
    with pytest.raises(InvalidAttribute, match="'audit_ref' is not visible to the role"):
        check_on_create(DEFS, {"audit_ref": "x"}, Audience("specialist"))
    with pytest.raises(InvalidAttribute, match="'product': 'toaster' is not one of"):
        check_on_create(DEFS, {"product": "toaster"}, CONTACT)
    with pytest.raises(InvalidAttribute, match="'nope' is not defined"):
        check_on_create(DEFS, {"nope": 1}, CONTACT)


def test_form_strings_become_values_of_their_kind() -> None:
    form = {
        "attr_contract": " 1042 ",
        "attr_product": "laptop",
        "attr_due": "2031-01-02",
        "attr_note": "",
        "subject": "not an attribute",
    }
    assert from_form(DEFS, form) == {"contract": 1042, "product": "laptop", "due": "2031-01-02"}
    assert from_form(DEFS, {"attr_contract": "2.5"}) == {"contract": 2.5}
    with pytest.raises(InvalidAttribute, match="'contract' takes a number"):
        from_form(DEFS, {"attr_contract": "twelve"})
    with pytest.raises(InvalidAttribute, match="'contract' takes a finite number"):
        check_on_create(DEFS, from_form(DEFS, {"attr_contract": "inf"}), Audience("specialist"))
    fields = form_fields(DEFS, Audience("specialist"), {"attr_contract": "7"})
    assert [(f["key"], f["required"], f["value"]) for f in fields] == [
        ("contract", True, "7"),
        ("product", True, ""),
        ("due", False, ""),
        ("note", False, ""),
    ]


def test_channel_tickets_list_every_required_attribute_missing() -> None:
    assert missing_required(DEFS, {}) == ["audit_ref", "contract", "product"]
    assert missing_required(DEFS, {"contract": 0, "product": "laptop", "audit_ref": "a"}) == []


definitions = st.dictionaries(
    st.sampled_from(["a", "b", "c", "d"]),
    st.tuples(
        st.booleans(),
        st.booleans(),
        st.frozensets(st.sampled_from(sorted(AGENTS))),
    ),
).map(
    lambda d: {
        k: AttributeDef(
            k,
            k.upper(),
            AttributeKind.STRING,
            required_on_create=req,
            visible_to_contact=contact,
            visible_to_roles=roles,
        )
        for k, (req, contact, roles) in d.items()
    }
)
audiences = st.one_of(st.just(CONTACT), st.sampled_from(sorted(AGENTS)).map(Audience))


@given(definitions, audiences, st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.text()))
def test_accepted_means_every_visible_required_given_and_nothing_hidden(
    defs: dict[str, AttributeDef], audience: Audience, values: dict[str, Any]
) -> None:
    try:
        stored = check_on_create(defs, values, audience)
    except MissingRequired as exc:
        assert exc.keys
        assert all(defs[k].required_on_create and audience.sees(defs[k]) for k in exc.keys)
        assert all(k not in values or not str(values[k]).strip() for k in exc.keys)
    except InvalidAttribute as exc:
        assert any(f"{k!r}" in str(exc) for k in values)
    else:
        assert all(audience.sees(defs[k]) for k in stored)
        for d in required_for(defs, audience):
            assert d.key in stored
        if audience.contact:  # an attribute hidden from contacts is never asked of them
            assert all(defs[k].visible_to_contact for k in stored)
