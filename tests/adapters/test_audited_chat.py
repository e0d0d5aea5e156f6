"""Administrative chat commands stand with their audit record or not at all (LoGo Chat end to
end, on SQLite and PostgreSQL): when the record cannot be written, the admin is told in
Japanese and nothing changed; otherwise the change is recorded once and the chain verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chat_harness import Chat, MakeChat
from fakes.logo import FakeLogo
from sqlalchemy import select
from support import refusing_inserts
from test_logo import deliver, logo_chat

from admin import orgs
from admin.audit_models import RECORD, AuditWriteFailed
from admin.datasets import DatasetService
from admin.db import create_db_engine, init_db
from admin.quotas import QuotaService
from bot.services import open_audit_log
from bot.settings import Settings

NOT_DONE = AuditWriteFailed.default_message
UPLOAD = "/upload データセット=窓口 分類=計画"
GUIDE = "窓口案内\n受付は午前9時からです。".encode()


@pytest.fixture
async def chat(
    make_chat: MakeChat, logo_fake: FakeLogo, app_database_url: str
) -> AsyncIterator[Chat]:
    """The app answering LoGo Chat on the data dir's SQLite file or a fresh PostgreSQL
    database, with 横浜市 (admin ``admin-1``) and an operator organization linked."""
    engine = create_db_engine(app_database_url)
    init_db(engine)
    app = await logo_chat(make_chat, logo_fake, database_url=app_database_url)
    chat = Chat(client=app.client, engine=engine)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    chat.link("運用", "logo", "operator-org", admins=("op-1",), operator=True)
    yield chat
    engine.dispose()


async def say(
    chat: Chat,
    fake: FakeLogo,
    text: str,
    user: str,
    org: str | None = None,
    file: bytes = b"",
    name: str = "窓口案内.txt",
) -> str:
    """The reply to ``text`` sent by ``user`` (of LoGo organization ``org``), with a file
    called ``name`` holding ``file`` when it is given."""
    files = [fake.add_file("f-1", name, file)] if file else []
    await deliver(chat, fake, fake.event(text, user_id=user, org_id=org, files=files))
    await chat.drain()
    return fake.replies[-1].text


def yokohama(chat: Chat) -> str:
    return orgs.get_org(chat.engine, "横浜市").id


def admin_records(chat: Chat) -> int:
    with chat.engine.connect() as conn:
        return len(conn.execute(select(RECORD.c.seq).where(RECORD.c.kind == "admin")).all())


def verified(chat: Chat, data_dir: Path) -> bool:
    result = open_audit_log(Settings(data_dir=data_dir), chat.engine).verify()
    return result.ok


async def test_a_budget_set_in_chat_stands_only_with_its_record(
    chat: Chat, logo_fake: FakeLogo, chat_data_dir: Path
) -> None:
    quotas = QuotaService(chat.engine, 1_000_000)
    with refusing_inserts(chat.engine, "audit_record"):
        refused = await say(chat, logo_fake, "/quota set 横浜市 500000", "op-1", "operator-org")
    assert NOT_DONE in refused
    assert quotas.status(yokohama(chat)).budget == 1_000_000
    assert admin_records(chat) == 0

    done = await say(chat, logo_fake, "/quota set 横浜市 500000", "op-1", "operator-org")
    assert "上限: 500,000 トークン" in done
    assert quotas.status(yokohama(chat)).budget == 500_000
    assert admin_records(chat) == 1
    assert verified(chat, chat_data_dir)


async def test_a_chat_upload_into_a_new_dataset_stands_only_with_its_records(
    chat: Chat, logo_fake: FakeLogo, chat_data_dir: Path
) -> None:
    with refusing_inserts(chat.engine, "audit_record"):
        refused = await say(chat, logo_fake, UPLOAD, "admin-1", file=GUIDE)
    assert NOT_DONE in refused
    assert DatasetService(chat.engine).by_name(yokohama(chat), "窓口") is None
    assert admin_records(chat) == 0

    done = await say(chat, logo_fake, UPLOAD, "admin-1", file=GUIDE)
    assert "「窓口」に 1 件の文書を登録しました" in done
    assert DatasetService(chat.engine).by_name(yokohama(chat), "窓口") is not None
    assert admin_records(chat) == 2  # its creation, then the upload into it
    assert verified(chat, chat_data_dir)


async def test_a_dataset_deleted_in_chat_stays_when_the_deletion_cannot_be_recorded(
    chat: Chat, logo_fake: FakeLogo, chat_data_dir: Path
) -> None:
    await say(chat, logo_fake, UPLOAD, "admin-1", file=GUIDE)
    dataset = DatasetService(chat.engine).by_name(yokohama(chat), "窓口")
    assert dataset is not None
    question = "窓口の受付は何時からですか"
    assert "午前9時" in await say(chat, logo_fake, question, "user-1")
    recorded = admin_records(chat)
    # The number alone asks first (a typo must not delete a dataset), and deletes nothing.
    asked = await say(chat, logo_fake, f"/dataset delete {dataset.id}", "admin-1")
    assert f"削除する場合は「/dataset delete {dataset.id} すべて」と送ってください" in asked
    assert "組織内のみ・文書 1 件" in asked and admin_records(chat) == recorded
    delete = f"/dataset delete {dataset.id} すべて"
    with refusing_inserts(chat.engine, "audit_record"):
        refused = await say(chat, logo_fake, delete, "admin-1")
    assert NOT_DONE in refused
    assert DatasetService(chat.engine).by_name(yokohama(chat), "窓口") is not None
    assert "午前9時" in await say(chat, logo_fake, question, "user-1")

    done = await say(chat, logo_fake, delete, "admin-1")
    assert "データセット「窓口」と文書 1 件を削除しました" in done
    assert admin_records(chat) == recorded + 1
    assert "午前9時" not in await say(chat, logo_fake, question, "user-1")
    assert verified(chat, chat_data_dir)


async def test_a_new_dataset_whose_upload_is_refused_is_removed_and_both_are_recorded(
    chat: Chat, logo_fake: FakeLogo, chat_data_dir: Path
) -> None:
    broken = b"%PDF-1.7 not really a pdf"
    refused = await say(chat, logo_fake, UPLOAD, "admin-1", file=broken, name="窓口案内.pdf")
    assert "窓口案内.pdf" in refused
    assert DatasetService(chat.engine).by_name(yokohama(chat), "窓口") is None
    assert admin_records(chat) == 2  # its creation, and its removal when the upload failed
    assert verified(chat, chat_data_dir)


async def test_a_chat_upload_into_a_new_dataset_of_the_sample_s_name_is_refused(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    upload = "/upload データセット=サンプル法令データ 分類=法令 共有=可"
    refused = await say(chat, logo_fake, upload, "admin-1", file=GUIDE)
    assert "「サンプル法令データ」は Baibain に同梱されているデータセットの名前" in refused
    assert "別の名前を指定してください" in refused
    assert DatasetService(chat.engine).by_name(yokohama(chat), "サンプル法令データ") is None
    assert admin_records(chat) == 0  # nothing created, so nothing recorded
    listed = await say(chat, logo_fake, "/datasets", "admin-1")
    assert listed.count("サンプル法令データ") == 1
