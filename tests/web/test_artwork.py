"""Placeholder artwork: one well-formed SVG per asset id, the same bytes every time, different
ids drawn differently, and ids that are not asset ids refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from keyart.web.artwork import media_url, placeholder_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_the_same_id_gives_the_same_svg_and_other_ids_differ() -> None:
    ids = [f"a{n:07d}" for n in range(50)]
    drawn = [placeholder_svg(i) for i in ids]
    assert drawn == [placeholder_svg(i) for i in ids]
    assert len(set(drawn)) == len(ids)


def test_the_svg_is_well_formed_and_names_its_asset() -> None:
    root = ET.fromstring(placeholder_svg("a0000042"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 320 180"
    assert root.get("aria-label") == "Placeholder artwork a0000042"
    assert [t.text for t in root.iter(f"{SVG}text")] == ["a0000042"]


@pytest.mark.parametrize("bad", ["", "a/b", "<script>", "a" * 65, "ä"])
def test_what_is_not_an_asset_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an asset id"):
        placeholder_svg(bad)


def test_media_url_is_served_by_keyart_itself() -> None:
    assert media_url("a0000001") == "/media/a0000001.svg"
