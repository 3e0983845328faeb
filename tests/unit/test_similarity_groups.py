"""Groups of alike appeals from several enterprises: the whole list, and only those touching some appeals."""

from __future__ import annotations

import random

from nlp.similarity import group_similar

POWER = "园区这周已经停电三次了，每次都没有提前通知，生产设备损坏严重"
POWER_2 = "园区停电三次都没有提前通知，设备损坏严重，请供电所解释"
ROAD = "厂区门口道路破损严重，大货车进出困难，雨天积水"
ROAD_2 = "厂区门口的道路破损，货车进出困难，一下雨就积水"
TAX = "出口退税迟迟没有到账，资金周转困难"


def test_groups_need_two_enterprises_and_follow_chains():
    items = [("A1", "a", POWER), ("B1", "b", POWER_2), ("C1", "c", POWER), ("A2", "a", ROAD),
             ("A3", "a", ROAD_2), ("D1", "d", TAX)]
    assert group_similar(items, 0.5) == [["A1", "B1", "C1"]]  # A's two road texts are one enterprise's
    assert group_similar([*items, ("E1", "e", ROAD_2)], 0.5) == [["A1", "B1", "C1"], ["A2", "A3", "E1"]]


def test_touching_gives_the_same_groups_as_filtering_all_of_them():
    rng = random.Random(7)
    texts = [POWER, POWER_2, ROAD, ROAD_2, TAX]
    for _ in range(30):
        items = [(f"N{i}", rng.choice("abcdef"), rng.choice(texts)) for i in range(rng.randint(1, 25))]
        touching = {key for key, _, _ in rng.sample(items, rng.randint(1, len(items)))}
        every = group_similar(items, 0.5)
        assert group_similar(items, 0.5, touching) == [g for g in every if touching & set(g)]
