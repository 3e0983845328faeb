"""Appeals from other channels: guided entry (录入) by the centre and the 12345-8 hotline CSV import."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.appeal import Actor, Appeal, AppealType, Source
from bot.domain.errors import DomainError, InvalidInput
from bot.messages import ConversationKey
from bot.services.access import require_centre_dispatcher
from bot.services.appeals import FilingDraft, submit_appeal
from bot.services.ports import Identity, OrgUnit, UnitOfWork
from bot.services.runtime import Runtime
from bot.services.units import match_unit

ENTRY_SOURCES = (Source.HOTLINE, Source.OFFLINE, Source.GRID_VISIT, Source.CAMPAIGN, Source.CONSULTATION,
                 Source.INDUSTRY_CHAIN, Source.QINQING, Source.LEADER_VISIT)


async def enter_appeal(uow: UnitOfWork, rt: Runtime, identity: Identity, draft: FilingDraft,
                       source: Source) -> Appeal:
    """录入: the centre records an appeal that came by phone, at the window or from a visit.

    The enterprise is not linked to the dispatcher's chat identity. Raises Forbidden / InvalidInput.
    """
    await require_centre_dispatcher(uow, identity)
    if source not in ENTRY_SOURCES:
        raise InvalidInput("entry_source")
    return await submit_appeal(uow, rt, identity, draft, source, record_filer=False)


# Documented in docs/handling.md: CSV header → field. English headers are accepted too.
HOTLINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "ref": ("工单编号", "ref"),
    "received": ("来电时间", "received_at"),
    "company": ("企业名称", "company"),
    "uscc": ("统一社会信用代码", "uscc"),
    "contact": ("联系人", "contact"),
    "phone": ("联系电话", "phone"),
    "area": ("所属乡镇", "area"),
    "text": ("诉求内容", "text"),
    "type": ("诉求类型", "type"),
    "category": ("问题类别", "category"),
}
REQUIRED = ("ref", "received", "company", "uscc", "contact", "phone", "area", "text")
TYPE_WORDS = {"咨询": AppealType.CONSULT, "求助": AppealType.HELP, "投诉": AppealType.COMPLAINT,
              "举报": AppealType.COMPLAINT, "建议": AppealType.SUGGESTION, "": AppealType.HELP}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d",
                "%Y/%m/%d", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日")


@dataclass
class ImportReport:
    imported: list[tuple[int, str]] = field(default_factory=list)  # (line, appeal number)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ref, existing number)
    errors: list[tuple[int, DomainError]] = field(default_factory=list)  # (line, why)


def missing_columns(header: Iterable[str]) -> list[str]:
    """Required fields no header names (reported before any row is read)."""
    present = {h.strip() for h in header if h}
    return [HOTLINE_COLUMNS[f][0] for f in REQUIRED if not any(n in present for n in HOTLINE_COLUMNS[f])]


def _field(row: Mapping[str, str | None], name: str) -> str:
    for header in HOTLINE_COLUMNS[name]:
        value = row.get(header)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _parse_time(raw: str, rt: Runtime) -> datetime:
    for fmt in DATE_FORMATS:
        try:
            value = datetime.strptime(raw, fmt).replace(tzinfo=rt.tz)
        except ValueError:
            continue
        if value > rt.now():
            raise InvalidInput("import_future_date", value=raw)
        return value
    raise InvalidInput("import_bad_date", value=raw)


async def import_hotline(rt: Runtime, rows: Iterable[tuple[int, Mapping[str, str | None]]]) -> ImportReport:
    """Import 12345-8 work orders; each good row becomes a 待受理 appeal in its own transaction.

    Bad rows are reported by line with the reason and store nothing; a work-order number seen
    before (in this file or an earlier import) is never imported twice.
    """
    report = ImportReport()
    seen: dict[str, int] = {}
    actor = Actor("system", None, "12345-8 热线导入")
    for line, row in rows:
        ref = _field(row, "ref")
        try:
            if not ref:
                raise InvalidInput("import_missing", field=HOTLINE_COLUMNS["ref"][0])
            if ref in seen:
                raise InvalidInput("import_duplicate_row", first=seen[ref], ref=ref)
            seen[ref] = line
            async with rt.uow() as uow:
                existing = await uow.handling.external_ref(Source.HOTLINE.value, ref)
                if existing is not None:
                    report.skipped.append((line, ref, existing))
                    continue
                draft, received = _draft(rt, row, [u for u in await uow.directory.units() if u.kind == "township"])
                identity = Identity(key=ConversationKey("import", "hotline"))
                appeal = await submit_appeal(uow, rt, identity, draft, Source.HOTLINE, actor=actor,
                                             record_filer=False, note=ref)
                appeal.flags = {**appeal.flags, "hotline_ref": ref, "received_at": received.isoformat()}
                await uow.appeals.save(appeal)
                await uow.handling.add_external_ref(Source.HOTLINE.value, ref, appeal.id, rt.now())
                await uow.commit()
                report.imported.append((line, appeal.number))
        except DomainError as err:
            report.errors.append((line, err))
    return report


def _draft(rt: Runtime, row: Mapping[str, str | None], townships: list[OrgUnit]) -> tuple[FilingDraft, datetime]:
    for name in REQUIRED:
        if not _field(row, name):
            raise InvalidInput("import_missing", field=HOTLINE_COLUMNS[name][0])
    received = _parse_time(_field(row, "received"), rt)
    area_text = _field(row, "area")
    try:
        area = match_unit(townships, area_text)
    except DomainError:
        raise InvalidInput("import_unknown_area", value=area_text) from None
    type_text = _field(row, "type")
    if type_text not in TYPE_WORDS:
        raise InvalidInput("import_bad_type", value=type_text)
    text = _field(row, "text")
    category = _field(row, "category")
    tagger = rt.tagger
    if category and category not in tagger.categories:
        raise InvalidInput("import_bad_category", value=category)
    evidence: dict[str, list[str]] = {}
    if not category:
        suggestions = tagger.suggest(text, top=1) if tagger.tokenizer.ready else []
        category = suggestions[0].label if suggestions else "其他"
        evidence = {s.label: list(s.evidence) for s in suggestions}
    draft = FilingDraft(company=_field(row, "company"), uscc=_field(row, "uscc"), contact=_field(row, "contact"),
                        phone=_field(row, "phone"), area_id=area.id, text=text, categories=[category],
                        type=TYPE_WORDS[type_text], tag_evidence={category: evidence.get(category, [])})
    return draft, received
