"""Organization names as administrators type them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from admin import links
from admin.orgs import create_org, get_org, list_orgs
from knowledge.errors import BadInput, NotFound


def test_a_name_typed_with_other_spaces_or_widths_names_the_same_organization(
    db_engine: Engine,
) -> None:
    tsuzuki = create_org(db_engine, "横浜市　都筑区")  # a full-width space
    kawasaki = create_org(db_engine, "ｶﾜｻｷ市")
    for typed in ("横浜市 都筑区", " 横浜市　都筑区 ", "横浜市  都筑区"):
        assert get_org(db_engine, typed) == tsuzuki
        with pytest.raises(BadInput, match="組織「横浜市　都筑区」はすでに存在します"):
            create_org(db_engine, typed)
    assert get_org(db_engine, "カワサキ市") == kawasaki
    with pytest.raises(BadInput, match="ｶﾜｻｷ市"):
        create_org(db_engine, "カワサキ市")
    assert links.link_workspace(db_engine, "横浜市 都筑区", "slack", "T1") == tsuzuki
    assert [o.name for o in list_orgs(db_engine)] == ["横浜市　都筑区", "ｶﾜｻｷ市"]


def test_an_unknown_name_with_a_space_is_quoted_in_the_command_to_create_it(
    db_engine: Engine,
) -> None:
    with pytest.raises(NotFound) as caught:
        get_org(db_engine, "相模原市 中央区")
    assert "`baibain org create '相模原市 中央区'`" in caught.value.user_message
    with pytest.raises(NotFound) as plain:
        get_org(db_engine, "川崎市")
    assert "`baibain org create 川崎市`" in plain.value.user_message


def test_characters_nobody_sees_are_left_out_of_a_name(db_engine: Engine) -> None:
    # Pasted from a web page or a PDF, a name brings zero-width spaces or a byte order mark:
    # 「横浜市」 and 「横浜市\u200b」 were two organizations listed alike, and a name of
    # nothing else was created and listed as if empty.
    for unseen in ("\u200b\ufeff", " \u2060 "):
        with pytest.raises(BadInput, match="組織名は改行を含まない1〜200文字"):
            create_org(db_engine, unseen)
    yokohama = create_org(db_engine, "\ufeff横浜市\u200b")
    assert yokohama.name == "横浜市"
    with pytest.raises(BadInput, match="組織「横浜市」はすでに存在します"):
        create_org(db_engine, "横浜\u200b市")
    assert get_org(db_engine, "横浜市\u200b") == yokohama
    assert [o.name for o in list_orgs(db_engine)] == ["横浜市"]
