"""Lenient unit matching: names, aliases, short names, pinyin initials; ambiguity is asked, not guessed."""

from __future__ import annotations

import pytest

from bot.config import EXAMPLE_CONFIG, load_settings
from bot.domain.errors import NotFound
from bot.services.ports import OrgUnit
from bot.services.units import AmbiguousUnit, match_unit

UNITS = [OrgUnit(u.id, u.name, u.kind, tuple(u.aliases)) for u in load_settings(EXAMPLE_CONFIG).units]


@pytest.mark.parametrize(("text", "unit"), [
    ("国网示范县供电公司", "gdgs"), ("供电公司", "gdgs"), ("供电", "gdgs"), ("gdgs", "gdgs"),
    ("县人社局", "rsj"), ("人社", "rsj"), ("环保局", "sthj"), ("溪口", "xikou"), ("开发区", "kfq"),
])
def test_names_aliases_short_forms_and_initials(text, unit):
    assert match_unit(UNITS, text).id == unit


def test_ambiguous_and_unknown():
    with pytest.raises(AmbiguousUnit) as err:
        match_unit(UNITS, "经济")
    assert err.value.params["candidates"] == ["县经济和信息化局", "经济开发区企业社区"]
    with pytest.raises(NotFound):
        match_unit(UNITS, "火星局")
