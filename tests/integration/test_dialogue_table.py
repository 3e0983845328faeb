"""The dialogue table: conversations as people type them, from tests/dialogues/*.toml, on either database.

Each dialogue starts from a fresh database (`given` says what already happened) and each row is one
message: what the person says, the step it must lead to, what the bot's answer must (not) contain,
what the draft holds, and what must never be stored. tests/dialogues/README.md explains the columns.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import tables as t
from tests.conftest import ROOT, Chat, bind_staff, conversation_state
from tests.integration.test_filing_dialogue import file_first_appeal

NUMBER = "QH20261125-0001"
STAFF = {"dispatcher": "chen-dispatch", "handler": "li-gdgs", "leader": "wang-leader"}
ROW_KEYS = {"say", "step", "reply", "no_reply", "draft", "appeal", "appeals", "not_stored"}


def load_dialogues() -> list[dict]:
    dialogues = []
    for path in sorted((ROOT / "tests" / "dialogues").glob("*.toml")):
        for d in tomllib.loads(path.read_text(encoding="utf-8"))["dialogue"]:
            d["file"] = Path(path).name
            dialogues.append(d)
    return dialogues


DIALOGUES = load_dialogues()


def test_the_table_has_at_least_150_messages_across_the_four_roles():
    rows = [row for d in DIALOGUES for row in d["turns"]]
    assert len(rows) >= 150
    assert {d["who"] for d in DIALOGUES} == {"enterprise", "dispatcher", "handler", "leader"}
    for d in DIALOGUES:
        for row in d["turns"]:
            assert set(row) <= ROW_KEYS, f"{d['name']}: unknown column in {row}"


def _listed(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


async def _given(app, given: str) -> None:  # type: ignore[no-untyped-def]
    """What happened before the dialogue: nothing, an appeal filed, dispatched, accepted."""
    if given == "nothing":
        return
    assert given in ("filed", "dispatched", "accepted"), given
    await file_first_appeal(Chat(app, "ent-1"))
    if given in ("dispatched", "accepted"):
        dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
        assert "主办" in await dispatcher.say(f"分派 {NUMBER} 供电")
    if given == "accepted":
        handler = await bind_staff(app, "staff:li", "li-gdgs")
        assert "已签收" in await handler.say(f"签收 {NUMBER}")


async def _stored_text(app) -> str:  # type: ignore[no-untyped-def]
    """Every appeal, enterprise and event row as text: what must not be stored must not be in it."""
    out = []
    async with app.database.engine.connect() as conn:
        for table in (t.appeals, t.enterprises, t.appeal_events):
            out += [json.dumps([str(v) for v in row], ensure_ascii=False)
                    for row in (await conn.execute(select(table))).all()]
    return "\n".join(out)


@pytest.mark.parametrize("dialogue", DIALOGUES, ids=[d["name"] for d in DIALOGUES])
async def test_dialogue(app, dialogue):
    await _given(app, dialogue.get("given", "nothing"))
    who = dialogue["who"]
    person = Chat(app, "ent-1") if who == "enterprise" else await bind_staff(app, f"staff:{who}", STAFF[who])
    for n, row in enumerate(dialogue["turns"], start=1):
        said = row["say"].replace("{number}", NUMBER)
        where = f"{dialogue['name']}, row {n}: 「{said}」"
        reply = await person.say(said)
        for part in _listed(row.get("reply")):
            assert part.replace("{number}", NUMBER) in reply, f"{where}\nanswer: {reply}"
        for part in _listed(row.get("no_reply")):
            assert part not in reply, f"{where}\nanswer: {reply}"
        state = await conversation_state(app, person.key)
        if "step" in row:
            assert state.step == row["step"], f"{where}\nanswer: {reply}"
        for key, value in row.get("draft", {}).items():
            assert state.data.get(key) == value, f"{where}: draft {key}"
        if "appeals" in row or "appeal" in row or "not_stored" in row:
            async with app.runtime.uow() as uow:
                stored = [a for a in [await uow.appeals.get(f"QH20261125-{i:04d}") for i in range(1, 4)] if a]
            if "appeals" in row:
                assert len(stored) == row["appeals"], where
            for key, value in row.get("appeal", {}).items():
                got = getattr(stored[-1], key)
                assert str(getattr(got, "value", got)) == value, f"{where}: appeal {key} = {got}"
            everything = json.dumps(state.data, ensure_ascii=False) + await _stored_text(app)
            for part in _listed(row.get("not_stored")):
                assert part not in everything, f"{where}: 「{part}」 was stored"
