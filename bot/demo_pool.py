"""`qihu demo --seed-pool N`: a realistic pool of appeals driven through the real use cases."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.appeal import Action, Actor, AppealType, Difficulty, Source, Status
from bot.domain.errors import DomainError
from bot.domain.identifiers import USCC_ALPHABET, uscc_check_char
from bot.messages import ConversationKey
from bot.services import callbacks, dispatch, evaluation, handling
from bot.services.appeals import FilingDraft, submit_appeal, withdraw_appeal
from bot.services.ports import Identity, OrgUnit, Staff, ThirdPartyScore
from bot.services.runtime import Runtime

log = logging.getLogger(__name__)

PROBLEMS = {
    "水电气能源": ["新厂房需要增容变压器，报装后迟迟没有答复", "园区天然气管道接入进度慢，影响试生产",
              "近期频繁停电，影响连续生产"],
    "政策兑现": ["去年申报的技改补贴至今没有拨付到账", "科技型企业奖励资金申报后一直没有结果"],
    "政策咨询": ["想了解今年的研发费用加计扣除政策", "咨询专精特新企业的申报条件和材料"],
    "融资信贷": ["流动资金贷款到期续贷困难，希望协调银行", "申请政策性担保贷款审批太慢"],
    "用工人才": ["招不到熟练技工，希望对接职业院校", "人才公寓申请流程不清楚"],
    "用地厂房": ["扩产需要新增工业用地，希望了解供地计划", "标准厂房租赁价格和手续咨询"],
    "审批证照": ["食品生产许可证延续办理材料反复退回", "环评审批时间过长影响项目开工"],
    "项目建设": ["项目施工许可办理进度慢", "竣工验收需要多个部门反复跑"],
    "交通物流": ["厂区门口道路破损严重，货车通行困难", "希望增设公交站点方便员工通勤"],
    "法律纠纷·账款拖欠": ["工程款被拖欠一年多，多次催讨无果", "合同纠纷希望获得法律援助"],
    "环境保护": ["排污许可证变更手续咨询", "周边企业异味扰民影响员工"],
    "安全生产": ["安全生产标准化评审咨询", "消防验收整改意见不明确"],
    "税费": ["增值税留抵退税进度咨询", "出口退税办理时间长"],
    "基础设施": ["园区路灯损坏多日无人维修", "厂区周边排水不畅，雨天积水"],
}
AREAS = ["dongcheng", "xicheng", "huzhen", "xikou", "hengshan", "kfq"]
COMPANY_WORDS = ["精密机械", "新材料", "电子科技", "食品", "纺织", "汽车零部件", "化工", "包装", "光电", "医疗器械",
                 "建材", "物流", "智能装备", "生物科技", "农业开发"]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴昊", "徐丽", "孙强"]
GOOD_COMMENTS = ["办事效率很高，点赞", "工作人员上门服务，非常贴心", "问题很快解决了，谢谢", "回复及时，解释清楚"]
BAD_COMMENTS = ["拖了很久也没解决", "来回推诿，让我们多跑了好几趟", "答复敷衍，问题依旧"]


class DemoClock:
    """A clock the generator moves; never read by anything but the use cases it drives."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _uscc(rng: random.Random) -> str:
    body = "91330825" + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_char(body)


@dataclass
class PoolStats:
    appeals: int = 0
    rated: int = 0
    bad: int = 0
    errors: int = 0


def _work_time(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=0, microsecond=0)


async def seed_pool(rt: Runtime, clock: DemoClock, n: int, start: datetime, end: datetime, seed: int = 2026
                    ) -> PoolStats:
    """Drive `n` appeals submitted between start and end through dispatch, handling, rating, 差评 loops,
    call-backs and grassroots ratings; every step stops at `end` (later steps simply have not happened)."""
    rng = random.Random(seed)
    stats = PoolStats()
    async with rt.uow() as uow:
        units = await uow.directory.units()
        known = await _staff(uow, units)
        await uow.directory.replace_org(units, known)
        await uow.commit()
    by_kind: dict[str, list[OrgUnit]] = {}
    for u in units:
        by_kind.setdefault(u.kind, []).append(u)
    handlers = {s.unit_id: s for s in known if s.role == "handler"}
    dispatcher = next(s for s in known if s.role == "dispatcher" and s.unit_id == "centre")
    disp_id = Identity(ConversationKey("demo", "dispatcher"), dispatcher)
    quality = {u.id: rng.uniform(0.55, 0.97) for u in units}  # how well each unit serves
    companies = [(f"示范{rng.choice(COMPANY_WORDS)}{'有限公司' if rng.random() < .8 else '股份有限公司'}",
                  _uscc(rng), rng.choice(NAMES), f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                  rng.choice(AREAS)) for _ in range(max(20, n))]
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(n))
    for i, t0 in enumerate(times):
        comp = companies[int(rng.paretovariate(1.5) * 3) % len(companies)] if rng.random() < 0.15 else \
            rng.choice(companies)  # a few enterprises file often
        cat = rng.choices(list(PROBLEMS), weights=[14, 12, 8, 8, 7, 6, 9, 6, 4, 6, 4, 3, 5, 5])[0]
        async with rt.uow() as uow:  # one transaction per appeal's whole history
            try:
                await _one(uow, rt, clock, rng, i, _work_time(rng, t0), end, comp, cat, disp_id, handlers, by_kind,
                           quality, stats)
                await uow.commit()
            except DomainError as err:
                log.info("demo appeal %d skipped: %s", i, err)
                stats.errors += 1
    clock.at = end
    async with rt.uow() as uow:
        await callbacks.sample_callbacks(uow, rt)
        period_label = f"{end.year}Q{(end.month - 1) // 3 + 1}"
        scores = [ThirdPartyScore(u.id, period_label, "第三方评估机构", round(60 + 38 * quality[u.id] ** 2, 1))
                  for u in by_kind.get("department", []) + by_kind.get("township", [])]
        await uow.evaluation.put_third_party(scores, end)
        for number, task in await uow.evaluation.open_callbacks(10_000):
            if rng.random() < 0.8:
                clock.at = min(end, task.created_at + timedelta(days=rng.uniform(1, 5)))
                ok = rng.random() < 0.85
                text = "电话 企业表示满意，问题已解决" if ok else "电话 企业表示不满意，问题未解决"
                await callbacks.record_callback(uow, rt, disp_id, number, text)
        await uow.commit()
    return stats


async def _staff(uow, units: list[OrgUnit]) -> list[Staff]:  # type: ignore[no-untyped-def]
    """The configured staff plus one demo handler for every unit that has none."""
    staff = await uow.directory.active_staff()
    have = {s.unit_id for s in staff if s.role == "handler"}
    for u in units:
        if u.kind != "service_centre" and u.id not in have:
            staff.append(Staff(f"demo-{u.id}", f"演示承办人（{u.name}）", u.id, "handler"))
    return staff


async def _step(uow, rt: Runtime, clock: DemoClock, at: datetime, end: datetime, fn, *args):  # type: ignore[no-untyped-def]
    """Run one use case at time `at` (in the appeal's transaction); None when `at` is after the end."""
    if at > end:
        return None
    clock.at = at
    return await fn(uow, rt, *args)


async def _one(uow, rt, clock, rng, i, t0, end, comp, cat, disp_id, handlers, by_kind, quality, stats):  # type: ignore[no-untyped-def]
    name, uscc, contact, phone, area = comp
    key = ConversationKey("demo", f"ent-{uscc}")
    ent = Identity(key)
    text = rng.choice(PROBLEMS[cat]) + "，请帮助协调解决。"
    type_ = rng.choices(list(AppealType), weights=[3, 5, 2, 1])[0]
    source = rng.choices([Source.ZZD, Source.HOTLINE, Source.WEB, Source.GRID_VISIT, Source.OFFLINE],
                         weights=[50, 20, 10, 12, 8])[0]
    draft = FilingDraft(name, uscc, contact, phone, area, text, [cat], type_)
    appeal = await _step(uow, rt, clock, t0, end, submit_appeal, ent, draft, source)
    if appeal is None:
        return
    stats.appeals += 1
    number = appeal.number
    ent = Identity(key, None, appeal.enterprise_id)
    if rng.random() < 0.02:
        await _step(uow, rt, clock, t0 + timedelta(hours=2), end, dispatch.reject, disp_id, number,
                    "不属于涉企诉求受理范围")
        return
    rule = dispatch.suggest_route(rt.policy, appeal)
    lead = rule.lead if rule and rng.random() < 0.85 else rng.choice(by_kind["department"]).id
    if rng.random() < 0.15:
        lead = area  # the township handles it
    difficulty = rng.choices(list(Difficulty), weights=[7, 2, 1])[0]
    t = t0 + timedelta(hours=rng.uniform(1, 20))
    if await _step(uow, rt, clock, t, end, dispatch.dispatch, disp_id, number, lead, [], None, difficulty) is None:
        return
    if rng.random() < 0.03:
        await _step(uow, rt, clock, t + timedelta(hours=3), end, _withdraw, ent, number)
        return
    if rng.random() < 0.05:  # transferred once
        other = rng.choice([u for u in by_kind["department"] if u.id != lead])
        t += timedelta(hours=rng.uniform(2, 30))
        moved = await _step(uow, rt, clock, t, end, dispatch.transfer, disp_id, number, other.id,
                            "职责调整，改由对口部门主办")
        if moved is None:
            return
        lead = other.id
    handler = Identity(ConversationKey("demo", f"h-{lead}"), handlers[lead])
    t += timedelta(hours=rng.uniform(0.5, 8))
    if await _step(uow, rt, clock, t, end, handling.accept, handler, number) is None:
        return
    q = quality.get(lead, 0.8)
    if lead in {u.id for u in by_kind.get("township", [])} and rng.random() < 0.12 and by_kind.get("city_task_force"):
        t += timedelta(days=rng.uniform(0.5, 2))
        reason = "涉及跨区域协调，需市级专班统筹"
        if await _step(uow, rt, clock, t, end, handling.request_escalation, handler, number, reason) is None:
            return
        t += timedelta(hours=rng.uniform(1, 6))
        if rng.random() < 0.2:  # the centre declines; the township carries on
            if await _step(uow, rt, clock, t, end, handling.decline_escalation, disp_id, number,
                           "县级可协调解决，请继续办理") is None:
                return
        else:
            if await _step(uow, rt, clock, t, end, handling.approve_escalation, disp_id, number) is None:
                return
            city = by_kind["city_task_force"][0]
            city_handler = Identity(ConversationKey("demo", f"h-{city.id}"), handlers[city.id])
            t += timedelta(hours=rng.uniform(1, 10))
            if await _step(uow, rt, clock, t, end, handling.accept, city_handler, number) is None:
                return
            handler, lead = city_handler, city.id
    a = await _step(uow, rt, clock, t, end, _get, number)
    due = a.due_at
    if rng.random() < 0.08:  # an extension, asked before the deadline and approved
        t_req = t + (due - t) * 0.6
        if await _step(uow, rt, clock, t_req, end, handling.request_extension, handler, number, rng.randint(3, 8),
                       "需等待设备到货后施工") is not None:
            await _step(uow, rt, clock, t_req + timedelta(hours=3), end, dispatch.approve_extension, disp_id, number)
            a = await _step(uow, rt, clock, t_req + timedelta(hours=3), end, _get, number)
            due = a.due_at if a else due
    late = rng.random() > 0.55 + 0.45 * q
    span = (due - t).total_seconds()
    t_res = t + timedelta(seconds=span * (rng.uniform(1.05, 1.8) if late else rng.uniform(0.2, 0.95)))
    outcome = rng.choices(["已解决", "部分解决", "未解决"], weights=[80 * q, 12, 8 * (1 - q) + 2])[0]
    if await _step(uow, rt, clock, t_res, end, handling.resolve, handler, number, outcome,
                   "已与企业沟通并协调相关部门，" + ("问题已解决" if outcome == "已解决" else "已作解释说明")) is None:
        return
    await _rate_round(uow, rt, clock, rng, end, ent, disp_id, handler, number, t_res, q, outcome, stats, 1)
    await _grassroots(uow, rt, clock, rng, end, handlers, number)


async def _grassroots(uow, rt, clock, rng, end, handlers, number):  # type: ignore[no-untyped-def]
    """基层评价 once the appeal has closed: the escalating unit or the enterprise's township rates."""
    a = await uow.appeals.get(number)
    pair = await evaluation.grassroots_rater(uow, a)
    if a.status != Status.CLOSED or pair is None or pair[0] not in handlers or rng.random() < 0.3:
        return
    rater = Identity(ConversationKey("demo", f"h-{pair[0]}"), handlers[pair[0]])
    await _step(uow, rt, clock, clock.at + timedelta(days=rng.uniform(0.5, 5)), end, evaluation.grassroots_rate,
                rater, number, rng.choices([5, 4, 3, 2], weights=[4, 4, 2, 1])[0], "上级部门协调有力")
async def _rate_round(uow, rt, clock, rng, end, ent, disp_id, handler, number, t_res, q, outcome, stats, rnd):  # type: ignore[no-untyped-def]
    window = rt.policy.evaluation.rating_window_days
    if rng.random() > 0.78:  # no rating in the window: 未评价 (issue 5's expiry job, simulated here)
        await _step(uow, rt, clock, t_res + timedelta(days=window, minutes=1), end, _expire, number)
        return
    t_rate = t_res + timedelta(hours=rng.uniform(1, 24 * (window - 1)))
    p_good = q * (1.0 if outcome == "已解决" else 0.7) + (0.2 if rnd > 1 else 0)
    level = rng.choices([5, 4, 3, 2, 1], weights=[45 * p_good, 35 * p_good, 12, 6 * (1 - p_good) + 1,
                                                  4 * (1 - p_good) + 0.5])[0]
    tags = rng.sample(list(evaluation.tagset(rt).tags(level)), k=rng.randint(0, 3))
    comment = rng.choice(GOOD_COMMENTS if level >= 4 else BAD_COMMENTS if level <= 2 else [""])
    solved = outcome if level >= 3 else rng.choice(["部分解决", "未解决"])
    r = await _step(uow, rt, clock, t_rate, end, evaluation.rate, ent, number, level, tags, comment, solved)
    if r is None:
        return
    stats.rated += 1
    if not r.rating.bad:
        return
    stats.bad += 1
    t_ver = t_rate + timedelta(hours=rng.uniform(4, 60))
    valid = rng.random() < 0.7
    note = "已电话联系企业，情况属实" if valid else "企业表示误操作，实际对办理结果认可"
    v = await _step(uow, rt, clock, t_ver, end, evaluation.verify, disp_id, number, valid, note,
                    "" if valid else rng.choice(["误评", "误评", "恶意"]))
    if v is None or not valid or rnd > 2:
        return
    due = v.rating.rectify_due_at
    late = rng.random() < 0.15
    t_fix = t_ver + (due - t_ver) * (rng.uniform(1.05, 1.3) if late else rng.uniform(0.2, 0.9))
    fixed = "已按核实意见完成整改"
    if await _step(uow, rt, clock, t_fix, end, handling.resolve, handler, number, "已解决", fixed) is None:
        return
    await _rate_round(uow, rt, clock, rng, end, ent, disp_id, handler, number, t_fix, min(1.0, q + 0.1), "已解决",
                      stats, rnd + 1)


async def _get(uow, rt, number):  # type: ignore[no-untyped-def]
    return await uow.appeals.get(number)


async def _withdraw(uow, rt, ent, number):  # type: ignore[no-untyped-def]
    return await withdraw_appeal(uow, rt, ent, number, "问题已自行解决")


async def _expire(uow, rt, number):  # type: ignore[no-untyped-def]
    appeal = await uow.appeals.get(number)
    if appeal is not None and appeal.status == Status.RESOLVED:
        appeal.apply(Action.RATING_EXPIRED, actor=Actor.system(), now=rt.now(), note="未评价")
        await uow.appeals.save(appeal)
    return appeal
