"""Workspace links, chat admins, operators, event claims and feedback (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from support import recorded_answer

from admin import links
from admin.db import create_db_engine
from admin.orgs import create_org
from knowledge.errors import BadInput, NotFound


def test_a_workspace_belongs_to_one_organization(db_engine: Engine) -> None:
    yokohama = create_org(db_engine, "横浜市")
    create_org(db_engine, "川崎市")
    assert links.link_workspace(db_engine, "横浜市", "slack", " T123 ") == yokohama
    assert links.link_workspace(db_engine, "横浜市", "slack", "T123") == yokohama  # idempotent
    with pytest.raises(BadInput, match="横浜市"):
        links.link_workspace(db_engine, "川崎市", "slack", "T123")
    links.link_workspace(db_engine, "川崎市", "teams", "T123")  # another platform, another id
    assert links.org_for_workspace(db_engine, "slack", "T123") == yokohama
    assert links.org_for_workspace(db_engine, "slack", "T999") is None
    assert links.org_for_workspace(db_engine, "logo", "") is None
    with pytest.raises(BadInput, match="slack / teams / logo"):
        links.link_workspace(db_engine, "横浜市", "line", "x")
    with pytest.raises(NotFound):
        links.link_workspace(db_engine, "存在しない市", "slack", "T1")


def test_admins_and_operators(db_engine: Engine) -> None:
    org = create_org(db_engine, "横浜市")
    assert not links.is_admin(db_engine, org.id, "slack", "U1")
    links.add_admin(db_engine, "横浜市", "slack", "U1")
    links.add_admin(db_engine, "横浜市", "slack", "U1")
    assert links.is_admin(db_engine, org.id, "slack", "U1")
    assert not links.is_admin(db_engine, org.id, "teams", "U1")
    assert not links.is_admin(db_engine, org.id, "slack", "")
    assert not links.is_operator(db_engine, org.id)
    links.set_operator(db_engine, "横浜市")
    links.set_operator(db_engine, "横浜市")
    assert links.is_operator(db_engine, org.id)


def test_an_event_is_claimed_once_across_processes(db_engine: Engine, database_url: str) -> None:
    # Two engines stand for two web processes receiving the same retried event.
    other = create_db_engine(database_url)
    try:
        engines = [db_engine, other] * 8
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda e: links.claim_event(e, "slack", "Ev1"), engines))
    finally:
        other.dispose()
    assert results.count(True) == 1
    assert links.claim_event(db_engine, "teams", "Ev1")  # ids are per platform
    long_id = "19:" + "x" * 300 + "|1"
    assert links.claim_event(db_engine, "teams", long_id)
    assert not links.claim_event(db_engine, "teams", long_id)
    assert links.purge_processed_events(db_engine, timedelta(days=2)) == 0
    assert links.purge_processed_events(db_engine, timedelta(seconds=-1)) == 3
    assert links.claim_event(db_engine, "slack", "Ev1")


def test_feedback_keeps_the_latest_click_per_user(db_engine: Engine) -> None:
    org = create_org(db_engine, "横浜市")
    turn = "a" * 32
    recorded_answer(db_engine, turn, org.id)
    assert links.record_feedback(
        db_engine, turn_id=turn, platform="slack", user_id="U1", rating="up", org_id=org.id
    )
    links.record_feedback(
        db_engine, turn_id=turn, platform="slack", user_id="U1", rating="down", org_id=org.id
    )
    links.record_feedback(
        db_engine, turn_id=turn, platform="slack", user_id="U2", rating="up", org_id=None
    )
    stored = sorted(links.feedback_for(db_engine, turn), key=lambda f: f.rating)
    assert [(f.rating, f.org_id) for f in stored] == [("down", org.id), ("up", None)]
    assert stored[0].user_hash == links.hash_user("slack", "U1") != "U1"
    with pytest.raises(BadInput):
        links.record_feedback(
            db_engine, turn_id=turn, platform="slack", user_id="U1", rating="meh", org_id=None
        )


def test_feedback_on_an_answer_never_recorded_is_not_stored(db_engine: Engine) -> None:
    org = create_org(db_engine, "横浜市")
    recorded_answer(db_engine, "a" * 32, org.id)
    stored = links.record_feedback(
        db_engine, turn_id="b" * 32, platform="slack", user_id="U1", rating="up", org_id=org.id
    )
    assert stored is False and links.feedback_for(db_engine, "b" * 32) == []


def test_a_greeting_is_claimed_once_per_user_and_kind(db_engine: Engine) -> None:
    claim = ("slack", "T1", "U1", "welcome")
    assert links.claim_greeting(db_engine, *claim)
    assert not links.claim_greeting(db_engine, *claim)  # on PostgreSQL too
    assert links.claim_greeting(db_engine, "slack", "T1", "U1", "unregistered")
    assert links.claim_greeting(db_engine, "slack", "T1", "U2", "welcome")


def test_a_released_greeting_can_be_claimed_again(db_engine: Engine) -> None:
    claim = ("slack", "T1", "U1", "welcome")
    assert links.claim_greeting(db_engine, *claim)
    assert links.claim_greeting(db_engine, "slack", "T1", "U1", "unregistered")
    links.release_greeting(db_engine, *claim)
    assert links.claim_greeting(db_engine, *claim)
    # Only that kind was released: the notice of registration stays given.
    assert not links.claim_greeting(db_engine, "slack", "T1", "U1", "unregistered")
