"""An organization's own data answers its staff before national statutes sharing the same words:
「人口を教えてください」 asked by the city that uploaded its population table is answered from it,
while another organization, seeing the table shared, is still answered from the statutes."""

from __future__ import annotations

from test_datasets import auth, create, form, setup  # noqa: F401 (the fixture)

POPULATION = """年度,人口,世帯数,出生数,死亡数
令和2年,372000,168000,2500,4100
令和3年,370500,168800,2410,4250
令和4年,368900,169300,2330,4400
令和5年,367100,169900,2250,4520
令和6年,365200,170400,2190,4610
"""
TABLE = "テスト市人口統計"


async def answered(client, key: str, question: str) -> dict:
    asked = await client.post("/api/v1/ask", json={"question": question}, headers=auth(key))
    assert asked.status == 200, await asked.text()
    return dict(await asked.json())


async def first_source(client, key: str, question: str) -> str:
    return str((await answered(client, key, question))["citations"][0]["title"])


async def test_the_own_table_comes_before_statutes_for_its_owner_only(setup) -> None:  # noqa: F811
    client, api_keys = setup
    owner, other = api_keys["テスト市"], api_keys["よその市"]
    dataset = await create(client, owner, name="人口", category="統計")
    upload = await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form((f"{TABLE}.csv", POPULATION.encode())),
        headers=auth(owner),
    )
    assert upload.status == 200, await upload.text()
    attest = {"attested_by": "統計担当 佐藤"}
    shared = await client.post(
        f"/api/v1/datasets/{dataset}/attest", json=attest, headers=auth(owner)
    )
    assert shared.status == 200

    assert await first_source(client, owner, "人口を教えてください") == TABLE
    # The same table, shared, is one source among others for everyone else.
    assert await first_source(client, other, "人口を教えてください") != TABLE
    # A question its words barely touch is still the statutes' (a word of it is no answer).
    assert await first_source(client, owner, "出生の届出は何日以内にしますか") != TABLE
    # A question on a trend is answered by the table of its years, row by row: the statutes
    # that repeat 人口 (or say 推移) do not say how it went.
    trend = await answered(client, owner, "人口の推移を教えてください")
    assert trend["citations"][0]["title"] == TABLE
    years = [trend["answer"].find(f"令和{n}年") for n in range(2, 7)]
    assert -1 not in years and years == sorted(years)
