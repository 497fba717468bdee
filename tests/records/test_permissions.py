"""Permissions enforced inside the record service: object, field and record level."""

from __future__ import annotations

import pytest

from tessera.metadata.filters import QueryError
from tessera.metadata.registry import build_org_registry
from tessera.records import RecordNotFound, RecordService, ValidationFailed
from tessera.records.service import Actor
from tessera.security.permissions import PermissionDenied
from tessera.storage.sync import deploy

ACCOUNT = """
label: {en: Account, zh-CN: 客户}
plural_label: {en: Accounts, zh-CN: 客户}
search_fields: [name, secret_code]
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
  region: {type: text, label: {en: Region, zh-CN: 区域}}
  revenue: {type: currency, label: {en: Revenue, zh-CN: 营收}}
  revenue_band: {type: formula, result: text, expression: "IF(revenue > 1000000, 'large', 'small')", label: {en: Band, zh-CN: 规模}}
  credit: {type: currency, label: {en: Credit, zh-CN: 信用额度}}
  secret_code: {type: text, label: {en: Code, zh-CN: 代码}}
"""
OPPORTUNITY = """
label: {en: Opportunity, zh-CN: 商机}
plural_label: {en: Opportunities, zh-CN: 商机}
fields:
  name: {type: text, label: {en: Name, zh-CN: 名称}, required: true}
  account: {type: lookup, target: account, label: {en: Account, zh-CN: 客户}}
"""
ROLES = {
    "roles/admin.yaml": "label: {en: Admin, zh-CN: 管理员}\nadmin: true\n",
    "roles/director.yaml": """
label: {en: Director, zh-CN: 总监}
objects: {account: [create, read, edit, delete, view_all], opportunity: [create, read, edit, view_all]}
""",
    "roles/manager.yaml": """
label: {en: Manager, zh-CN: 经理}
reports_to: director
objects: {account: [create, read, edit, delete], opportunity: [create, read, edit]}
""",
    "roles/rep.yaml": """
label: {en: Rep, zh-CN: 销售}
reports_to: manager
objects: {account: [create, read, edit], opportunity: [create, read, edit]}
fields: {account.revenue: hidden, account.credit: read_only, account.secret_code: hidden}
sharing:
  - {object: account, filter: {region: East}, access: read}
""",
    "roles/viewer.yaml": """
label: {en: Viewer, zh-CN: 只读}
objects: {account: [read, view_all]}
""",
    "roles/closer.yaml": """
label: {en: Closer, zh-CN: 成交}
objects: {opportunity: [read, view_all]}
""",
}

DIRECTOR = Actor(id=1, name="dora", role="director")
MANAGER = Actor(id=2, name="max", role="manager")
REP_A = Actor(id=3, name="ann", role="rep")
REP_B = Actor(id=4, name="bo", role="rep")
VIEWER = Actor(id=5, name="vic", role="viewer")
NOBODY = Actor(id=6, name="nemo", role=None)
CLOSER = Actor(id=7, name="cleo", role="closer")
ADMIN = Actor(id=9, name="root", role="admin")


class Directory:
    """The users above: ann and bo are reps (bo reports to max by the manager chain too)."""

    roles = {1: "director", 2: "manager", 3: "rep", 4: "rep", 5: "viewer", 7: "closer", 9: "admin"}
    managers = {4: 2}

    def users_in_roles(self, org, roles):
        return {user for user, role in self.roles.items() if role in set(roles)}

    def reports_of(self, user_id):
        return {user for user, manager in self.managers.items() if manager == user_id}


@pytest.fixture
def service(write_package, tmp_path, database):
    write_package("perm", {"objects/account.yaml": ACCOUNT, "objects/opportunity.yaml": OPPORTUNITY, **ROLES})
    registry = build_org_registry(["perm"], search_paths=[tmp_path])
    deploy(registry, database)
    return RecordService(registry, database, directory=Directory())


def account(service, actor, name, **values):
    return service.create("account", {"name": name, **values}, actor=actor)


# ------------------------------------------------------------------ object level

def test_object_permissions_decide_each_operation(service):
    mine = account(service, REP_A, "Ann's")
    with pytest.raises(PermissionDenied):
        service.create("account", {"name": "x"}, actor=VIEWER)
    with pytest.raises(PermissionDenied):
        service.delete("account", mine["id"], actor=REP_A)  # reps may not delete
    assert service.get("account", mine["id"], actor=VIEWER)["name"] == "Ann's"


def test_an_actor_without_a_role_may_do_nothing(service):
    with pytest.raises(PermissionDenied):
        service.query("account", actor=NOBODY)


def test_admins_do_everything_in_their_org(service):
    mine = account(service, DIRECTOR, "Dora's", revenue=5)
    assert service.get("account", mine["id"], actor=ADMIN)["revenue"] == 5
    service.delete("account", mine["id"], actor=ADMIN)


# ------------------------------------------------------------------ field level

def test_hidden_fields_never_leave_the_service(service):
    mine = account(service, DIRECTOR, "Big", revenue=2_000_000, secret_code="S3", region="East")
    seen = service.get("account", mine["id"], actor=REP_A)
    assert "revenue" not in seen and "secret_code" not in seen
    assert "revenue_band" not in seen  # a formula reading a hidden field would show it
    page = service.query("account", actor=REP_A)
    assert all("revenue" not in row for row in page.rows)
    assert all(not set(entry["changes"]) & {"revenue", "secret_code"}
               for entry in service.history("account", mine["id"], actor=REP_A))


def test_hidden_fields_cannot_be_filtered_sorted_searched_or_written(service):
    account(service, DIRECTOR, "Big", secret_code="S3", region="East")
    with pytest.raises(QueryError, match="unknown field 'revenue'"):
        service.query("account", filter={"revenue__gt": 5}, actor=REP_A)
    with pytest.raises(QueryError):
        service.query("account", sort=["-revenue"], actor=REP_A)
    assert service.query("account", search="S3", actor=REP_A).rows == []  # not searched for them
    assert len(service.query("account", search="S3", actor=DIRECTOR).rows) == 1
    with pytest.raises(ValidationFailed) as raised:
        account(service, REP_A, "Mine", revenue=10)
    assert raised.value.messages() == {"revenue": ["There is no field called 'revenue'."]}


def test_through_a_lookup_to_an_object_they_may_not_read_they_see_only_its_name(service):
    big = account(service, DIRECTOR, "Big", region="East", revenue=5)
    service.create("opportunity", {"name": "Deal", "account": big["id"]}, actor=DIRECTOR)
    [row] = service.query("opportunity", fields=["name", "account.name"], actor=CLOSER).rows
    assert row["account.name"] == "Big"
    for path in ("account.region", "account.revenue", "account.owner_id"):
        with pytest.raises(QueryError, match="unknown field"):
            service.query("opportunity", fields=[path], actor=CLOSER)
        with pytest.raises(QueryError, match="unknown field"):
            service.query("opportunity", filter={path: "East"}, actor=CLOSER)
    assert service.query("opportunity", fields=["account.region"], actor=DIRECTOR).rows[0]["account.region"] == "East"


def test_read_only_fields_may_be_sent_back_unchanged_but_not_changed(service):
    mine = account(service, DIRECTOR, "Shared", credit=100, region="North")
    with service.unit_of_work(DIRECTOR) as work:
        work.share("account", mine["id"], user_id=REP_A.id, access="edit")
    current = service.get("account", mine["id"], actor=REP_A)
    service.update("account", mine["id"], {"credit": "100.00", "region": "South"},  # as a client sends it back
                   version=current["version"], actor=REP_A)
    with pytest.raises(ValidationFailed) as raised:
        service.update("account", mine["id"], {"credit": 5}, version=current["version"] + 1, actor=REP_A)
    assert raised.value.messages() == {"credit": ["This field cannot be changed."]}


# ------------------------------------------------------------------ record level

def test_reps_see_their_own_records_and_not_each_others(service):
    mine = account(service, REP_A, "Ann's")
    theirs = account(service, REP_B, "Bo's")
    assert [r["name"] for r in service.query("account", actor=REP_A).rows] == ["Ann's"]
    assert str(service.count("account", actor=REP_A)) == "1"
    with pytest.raises(RecordNotFound):  # not "forbidden": an id reveals nothing
        service.get("account", theirs["id"], actor=REP_A)
    with pytest.raises(RecordNotFound):
        service.update("account", theirs["id"], {"region": "x"}, version=1, actor=REP_A)
    assert service.get("account", mine["id"], actor=REP_A)["name"] == "Ann's"


def test_managers_see_what_the_roles_and_people_below_them_own(service):
    account(service, REP_A, "Ann's")
    account(service, REP_B, "Bo's")
    account(service, DIRECTOR, "Dora's")
    assert sorted(r["name"] for r in service.query("account", actor=MANAGER).rows) == ["Ann's", "Bo's"]
    assert len(service.query("account", actor=DIRECTOR).rows) == 3  # view_all


def test_a_manager_of_many_reports_sees_their_records_shares_and_teams(service):
    # more reports than the ids bound one by one: they go to the database as one list
    reps = [Actor(id=100 + i, name=f"rep{i}", role="rep") for i in range(20)]
    service.policy.directory.roles = {**Directory.roles, **{rep.id: "rep" for rep in reps}}
    theirs = {account(service, rep, f"Rep {rep.id}")["name"] for rep in reps}
    shared = account(service, DIRECTOR, "Shared with rep 107")
    teamed = account(service, DIRECTOR, "Rep 115 on the team")
    account(service, DIRECTOR, "Dora's own")
    with service.unit_of_work(DIRECTOR) as work:
        work.share("account", shared["id"], user_id=107, access="read")
        work.set_team_member("account", teamed["id"], 115, access="edit")
    seen = {r["name"] for r in service.query("account", actor=MANAGER, limit=100).rows}
    assert seen == theirs | {"Shared with rep 107", "Rep 115 on the team"}
    assert service.count("account", actor=MANAGER).value == len(seen)
    service.update("account", teamed["id"], {"region": "North"}, version=1, actor=MANAGER)  # edit via the team
    with pytest.raises(PermissionDenied):
        service.update("account", shared["id"], {"region": "North"}, version=1, actor=MANAGER)  # read only


def test_a_sharing_rule_shares_matching_records_for_reading_only(service):
    east = account(service, DIRECTOR, "Eastern", region="East")
    account(service, DIRECTOR, "Western", region="West")
    assert [r["name"] for r in service.query("account", actor=REP_B).rows] == ["Eastern"]
    with pytest.raises(PermissionDenied):
        service.update("account", east["id"], {"name": "Mine now"}, version=1, actor=REP_B)
    # the manager sees what the rule shares with the reps below
    assert [r["name"] for r in service.query("account", actor=MANAGER).rows] == ["Eastern"]


def test_a_manual_share_and_a_team_membership_give_access_to_one_record(service):
    first = account(service, DIRECTOR, "First")
    second = account(service, DIRECTOR, "Second")
    with service.unit_of_work(DIRECTOR) as work:
        work.share("account", first["id"], user_id=REP_B.id, access="edit")
        work.set_team_member("account", second["id"], REP_B.id, access="read", team_role="engineer")
    assert sorted(r["name"] for r in service.query("account", actor=REP_B).rows) == ["First", "Second"]
    service.update("account", first["id"], {"region": "North"}, version=1, actor=REP_B)
    with pytest.raises(PermissionDenied):
        service.update("account", second["id"], {"region": "North"}, version=1, actor=REP_B)
    with pytest.raises(PermissionDenied):  # read access does not let them share it on
        with service.unit_of_work(REP_B) as work:
            work.share("account", second["id"], user_id=REP_A.id)


def test_lookups_may_only_point_at_records_the_actor_can_see(service):
    hidden_from_b = account(service, REP_A, "Ann's")
    with pytest.raises(ValidationFailed) as raised:
        service.create("opportunity", {"name": "Deal", "account": hidden_from_b["id"]}, actor=REP_B)
    assert raised.value.messages() == {"account": [f"There is no account with id {hidden_from_b['id']}."]}
    assert service.create("opportunity", {"name": "Deal", "account": hidden_from_b["id"]}, actor=REP_A)["id"]


def test_an_actor_of_another_org_is_refused_outright(service):
    stranger = Actor(id=REP_A.id, name="ann", role="admin", org="other")
    with pytest.raises(PermissionDenied):
        service.query("account", actor=stranger)
