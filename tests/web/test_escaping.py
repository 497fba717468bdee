"""Every text a user typed is escaped wherever the list, search and board screens show it."""

from __future__ import annotations

from markupsafe import escape

RAW = ("<script>window.__xss", "<img src=x onerror", 'Esc4pe"><')


def assert_escaped(html: str, payloads: dict[str, str], shown: list[str]) -> None:
    for raw in RAW:
        assert raw not in html
    for name in shown:
        assert str(escape(payloads[name])) in html, name


def test_payloads_are_escaped_on_the_list_search_board_and_home(sign_in, records, actor, store_script_payloads):
    lead, payloads = store_script_payloads(records, actor("admin"), "Esc4pe")
    client = sign_in()
    listed = client.get("/o/lead?view=all&q=Esc4pe").get_data(as_text=True)
    assert f'data-id="{lead["id"]}"' in listed
    assert_escaped(listed, payloads, ["name", "company"])
    found = client.get("/search?q=Esc4pe").get_data(as_text=True)
    assert f'/o/lead/{lead["id"]}"' in found
    assert_escaped(found, payloads, ["name", "company", "wechat"])
    board = client.get("/o/lead/kanban?q=Esc4pe").get_data(as_text=True)
    assert f'id="card-{lead["id"]}"' in board
    assert_escaped(board, payloads, ["name", "company"])
    assert_escaped(client.get("/").get_data(as_text=True), payloads, ["name"])  # recent records


def test_query_string_values_echoed_in_the_filter_bar_are_escaped(sign_in):
    html = sign_in().get('/o/lead?view=all&company="><script>window.__xss=1</script>').get_data(as_text=True)
    assert "<script>window.__xss" not in html
    assert 'value="&#34;&gt;&lt;script&gt;window.__xss=1&lt;/script&gt;"' in html
