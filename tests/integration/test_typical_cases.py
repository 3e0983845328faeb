"""典型服务判例 (规范 8.2): a dispatcher marks a closed appeal with its method, staff find it by keyword,
and the handler of a new, similar appeal is offered it with the reason (issue 17 §3)."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.reports.content import build
from bot.reports.render import html_page, markdown
from bot.reports.workbook import write, write_cases
from bot.services.cases import export_rows, report_with_cases
from storage import tables as t
from tests.conftest import Chat, bind_staff
from tests.integration.test_rating_buttons import resolved_for
from tests.integration.test_report_content import rate
from tests.integration.test_retag_and_pool import file

TRANSFORMER = "厂里扩建后用电负荷不够，申请增容变压器三个星期了，供电所还没来现场踏勘"
SUBSIDY = "去年申报的技改补贴至今没有拨付到账，请帮忙催一下财政"
METHOD = "供电所当天与企业现场踏勘，临时调配一台变压器，三个工作日内完成增容送电"


async def count(app, table) -> int:  # type: ignore[no-untyped-def]
    async with app.database.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def closed_case(app, clock) -> tuple[Chat, str]:  # type: ignore[no-untyped-def]
    """The 变压器 appeal: filed, sent to 供电公司, resolved, rated 非常满意 (closed)."""
    [(chat, number)] = await resolved_for(app, clock, ["ent-1"])
    await rate(chat, number, "非常满意", "增容很快，感谢供电所")
    return chat, number


async def test_a_dispatcher_marks_a_closed_appeal_and_staff_find_it(app, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    _, number = await closed_case(app, clock)

    reply = await dispatcher.say(f"判例 {number} {METHOD}")
    assert f"已将 {number} 列为典型服务判例" in reply
    assert "水电气能源" in reply and "供电公司" in reply and "企业评价 非常满意" in reply
    assert "用时 不足 1 个工作日" in reply  # filed and resolved the same day
    async with app.runtime.uow() as uow:
        case = await uow.cases.get(number)
    assert case.method == METHOD and case.units == ["gdgs"] and case.rating == 5 and case.marked_by == "chen-dispatch"

    handler = await bind_staff(app, "staff:li", "li-gdgs")
    found = await handler.say("判例 变压器")
    assert f"{number}（水电气能源" in found and METHOD in found and "相近之处：都提到「变压器」" in found
    assert "没有找到与「土地指标」相关的判例" in await handler.say("判例 土地指标")
    listing = await handler.say("判例")
    assert "【典型服务判例】共列出 1 个" in listing and number in listing

    # Marking again replaces the method; still one case.
    assert "已将" in await dispatcher.say(f"判例 {number} 现场踏勘后临时调配变压器，当周送电")
    assert await count(app, t.typical_cases) == 1


async def test_only_a_closed_appeal_with_a_method_by_a_dispatcher_or_leader(app, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    handler = await bind_staff(app, "staff:li", "li-gdgs")
    [(chat, number)] = await resolved_for(app, clock, ["ent-1"])  # resolved, not yet rated
    assert "还未闭环" in await dispatcher.say(f"判例 {number} {METHOD}")
    await rate(chat, number, "满意", "可以")
    assert "请写明做法" in await dispatcher.say(f"判例 {number} 好")
    assert "只有服务中心调度员和领导" in await handler.say(f"判例 {number} {METHOD}")
    assert "没有找到编号为 QH20990101-0001 的诉求" in await dispatcher.say(f"判例 QH20990101-0001 {METHOD}")
    assert "判例库仅供工作人员查阅" in await chat.say("判例 变压器")
    assert await count(app, t.typical_cases) == 0
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    assert "列为典型服务判例" in await leader.say(f"判例 {number} {METHOD}")


async def test_the_handler_of_a_similar_new_appeal_is_offered_the_case_and_why(app, clock):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    li = await bind_staff(app, "staff:li", "li-gdgs")
    _, number = await closed_case(app, clock)
    await dispatcher.say(f"判例 {number} {METHOD}")

    alike = await file(Chat(app, "ent-2"), 2, TRANSFORMER)
    await dispatcher.say(f"分派 {alike} 供电公司")
    notice = await last_notice(app, "staff:li")
    assert f"【新交办】{alike}" in notice
    assert "可参考的典型判例：" in notice and f"· {number}（水电气能源）做法：供电所当天与企业现场踏勘" in notice
    assert "相近：同属「水电气能源」，都提到「变压器" in notice

    # An unrelated appeal sent to the same unit comes without cases: nothing alike is offered.
    other = await file(Chat(app, "ent-3"), 3, SUBSIDY)
    await dispatcher.say(f"分派 {other} 供电公司")
    notice = await last_notice(app, "staff:li")
    assert f"【新交办】{other}" in notice and "典型判例" not in notice
    assert "判例" not in await li.say(f"签收 {other}")


async def last_notice(app, user: str) -> str:  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        rows = await uow.outbox.for_recipient("web", user, 0, 100)
    return rows[-1].body["text"]


async def report_content(app, period: str):  # type: ignore[no-untyped-def]
    async with app.runtime.uow() as uow:
        kpi, cases = await report_with_cases(uow, app.runtime, period)
    return build(kpi, app.settings.evaluation.ranking_min_sample, None, cases)


async def test_a_leader_publishes_the_quarters_cases_and_the_report_shows_them(app, clock, tmp_path):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    leader = await bind_staff(app, "staff:wang", "wang-leader")
    _, number = await closed_case(app, clock)
    tricky = "=HYPERLINK(\"http://x\") <b>现场踏勘</b>，三天送电"
    await dispatcher.say(f"判例 {number} {tricky}")

    listing = await leader.say("典型 2026Q4")
    assert "【2026Q4 正反面典型候选】" in listing and f"{number}（国网示范县供电公司，水电气能源）非常满意" in listing
    assert "反面典型：\n无" in listing and "典型 发布 2026Q4" in listing
    assert "典型案例的发布须由领导审核" in await dispatcher.say(f"典型 发布 2026Q4 {number}")
    assert "不是 2026Q4 的典型候选" in await leader.say("典型 发布 2026Q4 QH20261125-0099")
    assert "典型案例按季度评选" in await leader.say("典型 2026-11")
    assert await count(app, t.published_cases) == 0

    done = await leader.say(f"典型 发布 2026Q4 {number}")
    assert f"已发布 2026Q4 典型案例 1 个：{number}" in done and "王县长" in done
    assert "已经发布过" in await leader.say(f"典型 发布 2026Q4 {number}")
    async with app.runtime.uow() as uow:
        [p] = await uow.cases.published("2026Q4")
    assert (p.appeal_number, p.kind, p.approved_by, p.approved_at) == (number, "positive", "wang-leader", clock.now())
    assert "【已发布：王县长 11-25 11:00】" in await leader.say("典型 2026Q4")

    c = await report_content(app, "2026Q4")
    md = markdown(c, app.runtime.tz)
    assert "企业评价：“增容很快，感谢供电所”（已发布：王县长 2026-11-25 审核）" in md
    assert "## 十一、典型服务判例（本期列入）" in md and f"{number}（水电气能源；国网示范县供电公司" in md
    page = html_page(c, app.runtime.tz)
    assert "&lt;b&gt;现场踏勘&lt;/b&gt;" in page and "<b>现场踏勘" not in page
    wb = load_workbook(write(c, tmp_path / "r.xlsx", app.runtime.tz))
    [row] = list(wb["典型服务判例"].iter_rows(min_row=2, values_only=True))
    assert row[0] == number and row[6] == "'" + tricky  # a formula-looking method stays text

    # The month's report has the case but no publication marks: publication is quarterly.
    month = markdown(await report_content(app, "2026-11"), app.runtime.tz)
    assert "已发布" not in month and "待领导审核发布" not in month and tricky in month


async def test_the_library_exports_to_xlsx(app, clock, tmp_path):
    dispatcher = await bind_staff(app, "staff:chen", "chen-dispatch")
    _, number = await closed_case(app, clock)
    await dispatcher.say(f"判例 {number} @SUM(A1) 现场踏勘，三天内送电")
    async with app.runtime.uow() as uow:
        cases = await export_rows(uow)
    path = write_cases(cases, {"gdgs": "国网示范县供电公司"}, {"chen-dispatch": "陈晓"}, tmp_path / "c.xlsx",
                       app.runtime.tz)
    rows = list(load_workbook(path)["典型服务判例"].iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "类别", "承办单位")
    assert rows[1][:3] == (number, "水电气能源", "国网示范县供电公司")
    assert rows[1][6] == "'@SUM(A1) 现场踏勘，三天内送电" and rows[1][7] == "陈晓"
