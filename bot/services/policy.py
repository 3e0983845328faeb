"""Runtime policy the use cases obey: numbering, time limits, text bounds (all from config)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from bot.domain.appeal import AppealType, Difficulty, Level
from bot.services.schedule_policy import SchedulePolicy


@dataclass(frozen=True)
class TimeLimits:
    """Working days unless the name says otherwise."""

    dispatch: int = 1
    signoff: int = 1
    consult: int = 3
    normal: int = 5
    complex: int = 10
    hard: int = 15
    city: int = 20
    extension_max: int = 10
    co_unit: int = 3

    def handling_days(self, type_: AppealType, difficulty: Difficulty, level: Level) -> int:
        if level == Level.CITY:
            return self.city
        if type_ == AppealType.CONSULT and difficulty == Difficulty.NORMAL:
            return self.consult
        return {Difficulty.NORMAL: self.normal, Difficulty.COMPLEX: self.complex, Difficulty.HARD: self.hard}[
            difficulty
        ]


@dataclass(frozen=True)
class RoutingRule:
    """category + area (+ level) → suggested lead unit; empty area / level match any."""

    category: str
    lead: str
    area: str = ""
    level: str = ""
    co: tuple[str, ...] = ()

    def matches(self, category: str, area: str, level: str) -> bool:
        return (self.category == category and self.area in ("", area) and self.level in ("", level))

    @property
    def specificity(self) -> int:
        return bool(self.area) * 2 + bool(self.level)


@dataclass(frozen=True)
class EvaluationPolicy:
    """好差评 and the improvement loop (issue 6); days are working days unless named otherwise."""

    tags_file: str = ""
    verify_days: int = 2
    rectify_days: int = 15
    rating_window_days: int = 7  # calendar days
    repeat_window_days: int = 30  # calendar days
    callback_rate: float = 0.10
    callback_bad_reviews: bool = True
    callback_withdrawals: bool = True
    callback_seed: str = ""
    callback_onsite_share: float = 0.3  # 回访 电话+现场 (规范 8.1): on-site share, the rest by phone
    ranking_min_sample: int = 5
    index_weights: tuple[tuple[str, float], ...] = (
        ("satisfaction", 0.25), ("solved", 0.15), ("on_time", 0.15), ("repeat", 0.05),
        ("rectification", 0.05), ("callback", 0.05), ("grassroots", 0.15), ("third_party", 0.15))


@dataclass(frozen=True)
class ImprovementPolicy:
    """The tracked lists of 规范 8.1/8.2: who reviews 为企办实事 nominations, how many votes, follow-up days."""

    reviewers: tuple[str, ...] = ()
    min_votes: int = 0  # 0: every reviewer
    followup_workdays: int = 20

    @property
    def votes_needed(self) -> int:
        return self.min_votes or len(self.reviewers)


@dataclass(frozen=True)
class ReportPolicy:
    """[reports]: monthly and quarterly reports delivered to leaders by themselves (issue 17 §6)."""

    monthly: bool = True
    quarterly: bool = True
    deliver_at: time = time(9, 0)
    recipients: tuple[str, ...] = ()  # staff ids; empty = every leader
    catch_up_workdays: int = 3


@dataclass(frozen=True)
class Policy:
    number_prefix: str = "QH"
    timezone: str = "Asia/Shanghai"
    text_min_chars: int = 10
    text_max_chars: int = 2000
    company_max_chars: int = 60
    contact_max_chars: int = 20
    dialogue_timeout_minutes: int = 60
    service_phone: str = ""  # [appeals] service_phone: the centre's number people can call when stuck
    time_limits: TimeLimits = field(default_factory=TimeLimits)
    routing: tuple[RoutingRule, ...] = ()
    auto_dispatch_categories: frozenset[str] = frozenset()
    evaluation: EvaluationPolicy = field(default_factory=EvaluationPolicy)
    schedule: SchedulePolicy = field(default_factory=SchedulePolicy)  # issue 5: [scheduler]
    improvement: ImprovementPolicy = field(default_factory=ImprovementPolicy)  # issue 17: [improvement]
    reports: ReportPolicy = field(default_factory=ReportPolicy)  # issue 17 §6: [reports]
