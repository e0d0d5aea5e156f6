"""ZIP archives: expansion, member names (CP932 from Windows), and refusal of unsafe archives."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from knowledge.errors import BadDocument
from knowledge.parsing import ParseLimits, parse_file

EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"
RULE = "419M60400000005_20201228_502M60400000013.xml"


class RawNameInfo(zipfile.ZipInfo):
    """A member whose name is stored as given bytes without the UTF-8 flag.

    Windows' built-in ZIP tool in Japan writes CP932 names this way; Python's zipfile always
    writes non-ASCII names as flagged UTF-8, so the test overrides how the name is encoded.
    """

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw.decode("cp437"))

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def make_zip(members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def refusal(name: str, data: bytes, limits: ParseLimits | None = None) -> str:
    with pytest.raises(BadDocument) as caught:
        parse_file(name, data, limits=limits or ParseLimits())
    return caught.value.user_message


def test_zip_yields_one_parsed_file_per_supported_member() -> None:
    data = make_zip(
        [
            ("例規/手数料.txt", "住民票の写しは1通300円です。".encode()),
            (f"法令/{RULE}", (EGOV / RULE).read_bytes()),
            ("例規/", b""),  # a folder entry
            ("__MACOSX/例規/._手数料.txt", b"\x00\x05\x16\x07resource fork"),
            ("例規/.DS_Store", b"\x00\x00\x00\x01Bud1"),
            ("tools/setup.exe", b"MZ\x90\x00"),  # unsupported: skipped, not fatal
            ("例規/空.txt", b""),  # empty members are skipped
        ]
    )
    parsed = parse_file("例規集.zip", data)
    assert [p.name for p in parsed] == ["例規/手数料.txt", f"法令/{RULE}"]
    assert parsed[0].title == "手数料"
    law = parsed[1]
    assert law.kind == "egov-xml"
    assert (law.law_id, law.version) == ("419M60400000005", "2020-12-28")


def test_cp932_member_names_from_windows_are_recovered() -> None:
    # 「ソ」 and 「表」 end in byte 0x5C, the ASCII backslash: not a traversal once decoded.
    names = ["ソフトウェア利用規程.txt", "議事録/第1回委員会資料一覧表.md"]
    data = make_zip([(RawNameInfo(n.encode("cp932")), "本文です。".encode()) for n in names])
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert all(not info.flag_bits & 0x800 for info in archive.infolist())
    parsed = parse_file("windows.zip", data)
    assert [p.name for p in parsed] == names
    assert parsed[0].title == "ソフトウェア利用規程"


def test_utf8_member_names_without_the_flag_are_recovered() -> None:
    data = make_zip([(RawNameInfo("議事録.txt".encode()), "本文です。".encode())])
    [parsed] = parse_file("mac.zip", data)
    assert parsed.name == "議事録.txt"


@pytest.mark.parametrize(
    "member",
    ["../evil.txt", "docs/../../evil.txt", "/etc/evil.txt", "C:/Windows/evil.txt", "a\\b.txt"],
)
def test_path_traversal_refuses_the_archive_naming_the_member(member: str) -> None:
    data = make_zip([("ok.txt", "本文".encode()), (member, "悪意".encode())])
    message = refusal("upload.zip", data)
    assert f"「{member}」" in message
    assert "「upload.zip」に安全でない名前のファイル" in message


def test_zip_bomb_is_refused() -> None:
    data = make_zip([("readme.txt", "説明".encode()), ("bomb.txt", b"0" * (8 * 1024 * 1024))])
    assert len(data) < 100_000
    message = refusal("bomb.zip", data)
    assert "「bomb.txt」" in message and "ZIP爆弾" in message


def test_small_repetitive_member_is_not_taken_for_a_bomb() -> None:
    [parsed] = parse_file("small.zip", make_zip([("a.txt", "あ".encode() * 5000)]))
    assert parsed.sections[0].text == "あ" * 5000


def test_too_many_members_are_refused() -> None:
    data = make_zip([(f"{n}.txt", b"text") for n in range(6)])
    message = refusal("many.zip", data, ParseLimits(max_archive_members=5))
    assert "ファイルが多すぎます" in message and "上限 5件" in message


def test_too_much_expanded_data_is_refused() -> None:
    data = make_zip([("a.txt", "あいうえお".encode() * 100)])
    message = refusal("big.zip", data, ParseLimits(max_expanded_bytes=1000))
    assert "「big.zip」は展開後のサイズが大きすぎます" in message


def test_nested_zip_is_refused_politely() -> None:
    inner = make_zip([("a.txt", b"text")])
    message = refusal("outer.zip", make_zip([("a.txt", b"text"), ("inner.zip", inner)]))
    assert "「outer.zip」の「inner.zip」" in message
    assert "ZIP の中の ZIP には対応していません" in message


def test_zip_without_supported_members_is_refused() -> None:
    message = refusal("tools.zip", make_zip([("setup.exe", b"MZ"), ("__MACOSX/._a.txt", b"x")]))
    assert "「tools.zip」には読み込める形式のファイルが含まれていません" in message
    assert "PDF（.pdf）" in message


def test_bad_member_names_archive_and_member() -> None:
    message = refusal("docs.zip", make_zip([("報告書.pdf", b"%PDF-1.4 garbage")]))
    assert "「docs.zip」の「報告書.pdf」は PDF として読み込めませんでした" in message


def test_every_unreadable_member_is_named_at_once() -> None:
    broken = [(f"議事録{n:02}.pdf", b"%PDF-1.4 garbage") for n in range(13)]
    message = refusal("会議録.zip", make_zip([("メモ.txt", "読める".encode()), *broken]))
    assert "「会議録.zip」の「議事録00.pdf」は PDF として読み込めませんでした" in message
    assert (
        "ほかにも読み込めないファイルが 12 件あります: 「議事録01.pdf」、「議事録02.pdf」"
        in message
    )
    assert "「議事録10.pdf」 ほか 2 件" in message and "議事録11" not in message


def test_damaged_zip_is_refused() -> None:
    data = make_zip([("a.txt", b"text" * 100)])
    assert "「broken.zip」は ZIP ファイルとして読み込めませんでした" in refusal(
        "broken.zip", data[: len(data) // 2]
    )


def test_oversized_member_is_refused_before_it_is_read() -> None:
    data = make_zip([("small.txt", b"text"), ("large.txt", "あ".encode() * 1000)])
    message = refusal("a.zip", data, ParseLimits(max_file_bytes=2000))
    assert "「a.zip」の「large.txt」はファイルサイズが大きすぎます" in message
