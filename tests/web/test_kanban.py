"""Kanban boards: a column per picklist option; moves validated by the record service."""

from __future__ import annotations

import datetime as dt
import re

HTMX = {"HX-Request": "true"}


def new_opportunity(records, owner, name, **values):
    account = records.create("account", {"name": f"{name} account"}, actor=owner)
    close = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    return records.create("opportunity", {"name": name, "account": account["id"], "close_date": close, **values},
                          actor=owner)


def move(client, csrf, record, value, origin):
    return client.post("/o/opportunity/kanban/move", headers={**HTMX, "X-CSRFToken": csrf(client)},
                       data={"id": record["id"], "version": record["version"], "group": "stage", "value": value,
                             "origin": origin, "state": "view=pipeline_by_stage&group=stage"})


def test_the_board_has_a_column_per_option_with_the_cards(sign_in, records, actor):
    deal = new_opportunity(records, actor("admin"), "Board deal", stage="needs")
    page = sign_in().get("/o/opportunity/kanban?group=stage").get_data(as_text=True)
    values = re.findall(r'<ol class="kanban-cards[^"]*" data-value="(\w*)"', page)
    assert values == ["qualify", "needs", "proposal", "negotiation", "won", "lost", "invalid"]
    column = re.search(r'data-value="needs" aria-labelledby=[^>]*>(.*?)</ol>', page, re.S).group(1)
    assert f'id="card-{deal["id"]}"' in column and "Board deal" in column
    assert 'data-kanban' in page and "Sortable.min.js" in page


def test_a_move_saves_through_the_record_service(sign_in, csrf, records, actor):
    deal = new_opportunity(records, actor("admin"), "Moving deal")
    response = move(sign_in(), csrf, deal, "needs", "qualify")
    card = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-value="needs"' in card and 'data-moved-from="qualify"' in card and "data-refused" not in card
    saved = records.get("opportunity", deal["id"])
    assert saved["stage"] == "needs" and saved["version"] == deal["version"] + 1


def test_a_refused_move_comes_back_with_the_reason(sign_in, csrf, records, actor):
    deal = new_opportunity(records, actor("admin"), "Amountless deal")
    response = move(sign_in(), csrf, deal, "proposal", "qualify")
    card = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the amount once a proposal has been made." in card
    assert 'data-value="qualify"' in card and "data-refused" in card and 'data-origin="qualify"' in card
    assert records.get("opportunity", deal["id"])["stage"] == "qualify"


def test_a_stale_card_is_refused(sign_in, csrf, records, actor):
    owner = actor("admin")
    deal = new_opportunity(records, owner, "Stale deal")
    records.update("opportunity", deal["id"], {"description": "meanwhile"}, version=deal["version"], actor=owner)
    response = move(sign_in(), csrf, deal, "needs", "qualify")
    assert response.status_code == 409 and "Someone changed this record" in response.get_data(as_text=True)


def test_a_user_who_may_not_edit_gets_no_move_controls_and_is_refused(sign_in, csrf, records, actor):
    deal = new_opportunity(records, actor("admin"), "Read-only deal")
    client = sign_in("lin.xiao")  # marketing reads every opportunity, edits none
    page = client.get("/o/opportunity/kanban?group=stage&view=all").get_data(as_text=True)
    assert f'id="card-{deal["id"]}"' in page and "kanban-move" not in page and "data-editable" not in page
    response = move(client, csrf, deal, "needs", "qualify")
    assert response.status_code == 403 and "You do not have permission to do this." in response.get_data(as_text=True)


def test_moves_need_the_csrf_token(sign_in, records, actor):
    deal = new_opportunity(records, actor("admin"), "Forged move")
    response = sign_in().post("/o/opportunity/kanban/move", data={"id": deal["id"], "version": 1, "group": "stage",
                                                                 "value": "needs"})
    assert response.status_code == 400 and records.get("opportunity", deal["id"])["stage"] == "qualify"


def test_a_board_needs_a_picklist(sign_in):
    response = sign_in().get("/o/opportunity/kanban?group=amount")
    assert response.status_code == 400
    assert "“amount” is not a picklist field a board can be grouped by." in response.get_data(as_text=True)
    response = sign_in().get("/o/currency/kanban")
    assert response.status_code == 400 and "has no picklist field" in response.get_data(as_text=True)


def test_the_lead_board_uses_its_metadata_view(sign_in):
    page = sign_in().get("/o/lead/kanban").get_data(as_text=True)
    assert 'id="board-group"' in page and re.search(r'<option value="status"\s+selected>', page)
    assert re.search(r'<option value="by_status"\s+selected>', page)
