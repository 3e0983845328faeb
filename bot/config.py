"""Settings: pydantic models mirroring config.example.toml; the only reader of the file and env."""

from __future__ import annotations

import csv
import difflib
import os
import re
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config.example.toml"

ENV_PREFIX = "QIHU_"
# QIHU_ variables the project reads itself, outside the settings model.
NON_CONFIG_ENV = frozenset({
    "QIHU_CONFIG",  # the configuration file (bot/config.py)
    "QIHU_TEST_DATABASE_URL",  # the test suite's PostgreSQL database (tests/conftest.py)
    "QIHU_FUZZ_EXAMPLES",  # examples per property in the fuzz tests (tests/fuzz)
    "QIHU_SCREENSHOTS",  # browser tests write the docs' screenshots (docs/conversation.md)
})


class StartupError(Exception):
    """A start that cannot go on; the message is the one line the administrator reads."""


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _env_names(model: type[BaseModel], prefix: str) -> Iterator[str]:
    """Every name pydantic-settings maps onto the model: a section (as JSON) and each key below it."""
    for name, info in model.model_fields.items():
        full = f"{prefix}{name.upper()}"
        yield full
        sub = _model_of(info.annotation)
        if sub is not None:
            yield from _env_names(sub, f"{full}__")
        elif typing.get_origin(info.annotation) is list:
            continue  # lists of tables (routing, units, staff) are set whole, as JSON


def config_env_names(settings_cls: type[BaseModel]) -> frozenset[str]:
    return frozenset(_env_names(settings_cls, ENV_PREFIX))


def unknown_environment(environ: Mapping[str, str], settings_cls: type[BaseModel]) -> list[str]:
    """A QIHU_ variable that sets nothing is a typo that would be silently ignored: one problem for each."""
    valid = config_env_names(settings_cls) | NON_CONFIG_ENV
    unknown = sorted(name for name in environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in valid)
    problems = []
    for name in unknown:
        near = difflib.get_close_matches(name.upper(), sorted(valid), n=1, cutoff=0.8)
        hint = f"，是否应为 {near[0]}？" if near else "（配置项写作 QIHU_节__键，见 config.example.toml）"
        problems.append(f"环境变量 {name} 不对应任何配置项{hint}")
    return problems


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(65536, ge=1024)
    sender_per_minute: int = Field(30, ge=0)  # messages a minute from one sender; 0 = no limit
    sender_burst: int = Field(10, ge=1)  # that many may come at once before the limit applies
    public_url: str = "http://127.0.0.1:8080"  # how people's browsers reach qihu: report download links
    link_secret: SecretStr = SecretStr("")  # from QIHU_SERVER__LINK_SECRET; empty = a new one each start
    report_link_minutes: int = Field(1440, ge=1)  # a report download link works this long


class DatabaseConfig(Section):
    url: str = "sqlite+aiosqlite:///./qihu.db"
    echo: bool = False
    pool_size: int = Field(10, ge=1, le=200)
    sqlite_inline: bool = True  # SQLite statements run on the event loop's thread (no worker-thread hops)
    group_commit_max: int = Field(32, ge=1, le=1000)  # SQLite: turns sharing one transaction; 1 = one each


class AppealsConfig(Section):
    number_prefix: str = Field("QH", pattern=r"^[A-Z]{1,6}$")
    timezone: str = "Asia/Shanghai"
    text_min_chars: int = Field(10, ge=1)
    text_max_chars: int = Field(2000, ge=20, le=20000)
    dialogue_timeout_minutes: int = Field(60, ge=1)
    # The service centre's phone: in every role's 帮助, and in refusals a person may not get past alone.
    service_phone: str = Field("", max_length=40)


class TimeLimitsConfig(Section):
    dispatch: int = Field(1, ge=0)
    signoff: int = Field(1, ge=0)
    consult: int = Field(3, ge=1)
    normal: int = Field(5, ge=1)
    complex: int = Field(10, ge=1)
    hard: int = Field(15, ge=1)
    city: int = Field(20, ge=1)
    extension_max: int = Field(10, ge=0)  # one extension at most, of at most this many working days
    co_unit: int = Field(3, ge=1)  # a co-unit's sub-deadline to report to the lead unit


class NlpConfig(Section):
    rules_file: str = ""  # empty: the seed enterprise taxonomy shipped in nlp/data/
    confidence_threshold: float = Field(0.6, ge=0.0, le=1.0)  # below: the enterprise chooses, pool says 类别待确认


class CalendarConfig(Section):
    extra_days_file: str = ""  # TOML with `holidays = [...]` and `workdays = [...]` (ISO dates)


class DispatchConfig(Section):
    auto_categories: list[str] = []  # categories dispatched at once to the routing suggestion


class RoutingRuleConfig(Section):
    """category + area (+ level) → suggested lead unit (and co-units); the most specific rule wins."""

    category: str
    area: str = ""  # township unit id; empty = any area
    level: Literal["", "乡级", "县级", "市级"] = ""
    lead: str
    co: list[str] = []


class IndexWeightsConfig(Section):
    """企业服务指数 weights (any positive scale; normalised over the components that have data)."""

    satisfaction: float = Field(0.25, ge=0)  # 满意率
    solved: float = Field(0.15, ge=0)  # 解决率
    on_time: float = Field(0.15, ge=0)  # 按时办结率
    repeat: float = Field(0.05, ge=0)  # 100 − 重复投诉率
    rectification: float = Field(0.05, ge=0)  # 差评整改率
    callback: float = Field(0.05, ge=0)  # 回访满意率
    grassroots: float = Field(0.15, ge=0)  # 基层对上级服务评价
    third_party: float = Field(0.15, ge=0)  # 第三方评价


class EvaluationConfig(Section):
    """[evaluation]: 好差评, bad-review verification and rectification, call-backs, repeats, index."""

    tags_file: str = ""  # empty: bot/domain/rating_tags.toml (versioned seed tags)
    verify_days: int = Field(2, ge=1)  # 差评核实 within, working days
    rectify_days: int = Field(15, ge=1)  # 差评整改 within, working days
    rating_window_days: int = Field(7, ge=1)  # calendar days; no rating by then counts as 未评价
    repeat_window_days: int = Field(30, ge=1)  # same USCC + category within this after a closure
    callback_rate: float = Field(0.10, ge=0, le=1)  # share of closures sampled for 回访
    callback_bad_reviews: bool = True  # every 差评 is called back
    callback_withdrawals: bool = True  # every withdrawal is called back
    callback_seed: str = ""  # empty: generated once and stored in the database
    callback_onsite_share: float = Field(0.3, ge=0, le=1)  # of call-backs, the share done on site; the rest by phone
    ranking_min_sample: int = Field(5, ge=1)  # rated appeals a unit needs to enter the 红黑榜
    index_weights: IndexWeightsConfig = IndexWeightsConfig()


class ImprovementConfig(Section):
    """[improvement]: the tracked lists of 规范 8.1/8.2: 为企办实事, 改革任务, 薄弱环节跟进 (docs/improvement.md)."""

    reviewers: list[str] = []  # staff ids of the 专家评审 panel that votes on 为企办实事 nominations
    min_votes: int = Field(0, ge=0)  # votes a nomination needs before a leader may confirm it; 0 = every reviewer
    followup_workdays: int = Field(20, ge=1, le=250)  # a weak spot's follow-up is due this many working days on


class WebChatConfig(Section):
    enabled: bool = True
    demo_mode: bool = True  # "pick who you are"; honoured only for a direct loopback request (no proxy)
    portal_secret: SecretStr = SecretStr("")  # from QIHU_WEBCHAT__PORTAL_SECRET
    token_max_age_seconds: int = Field(12 * 3600, ge=60)
    # CSP frame-ancestors: who may embed the page (portals do); one source expression each.
    frame_ancestors: list[Annotated[str, Field(pattern=r"^[^\s;,]{1,200}$")]] = ["'self'"]


class SpoolConfig(Section):
    """[spool]: where turns wait while the database cannot be reached (docs/operations.md)."""

    path: str = "./qihu-spool.jsonl"
    replay_seconds: float = Field(5.0, gt=0)


class DeliveryConfig(Section):
    poll_seconds: float = Field(2.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    base_backoff_seconds: float = Field(5.0, gt=0)
    lease_seconds: float = Field(120.0, gt=0)  # a claimed row is retried after this long if its sender vanished
    worker: Literal["inline", "process"] = "inline"  # "process": `qihu run` sends from a child process


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class SchedulerConfig(Section):
    """[scheduler]: reminders, rating clocks and digests (docs/scheduler.md)."""

    enabled: bool = True  # run the sweeps inside `qihu run`; false when `qihu scheduler` runs them elsewhere
    interval_seconds: int = Field(60, ge=5, le=3600)  # one pass of all sweeps this often
    batch_size: int = Field(200, ge=1, le=5000)  # rows claimed per transaction
    quiet_start: str = Field("20:00", pattern=_HHMM)  # reminders wait from here ...
    quiet_end: str = Field("08:00", pattern=_HHMM)  # ... until here (local time); equal = no quiet hours
    hold_on_non_workdays: bool = True  # staff reminders wait for the next working day
    digest_time: str = Field("08:30", pattern=_HHMM)  # digests on working days from this time
    leader_digest: bool = True
    handler_digest: bool = True
    dispatcher_digest: bool = True
    near_due_workdays: int = Field(1, ge=0)  # near-due reminder this many working days before the deadline
    overdue_leader_workdays: int = Field(2, ge=1)  # overdue this many working days → the leaders are told
    rating_reminder_days: int = Field(1, ge=0)  # calendar days after resolution


class ReportsConfig(Section):
    """[reports]: the 企业服务指数 reports that arrive by themselves (规范 8.1; docs/improvement.md)."""

    auto_monthly: bool = True  # last month's report, on the first working day of the month
    auto_quarterly: bool = True  # last quarter's report (and its typical cases to approve), likewise
    deliver_at: str = Field("09:00", pattern=_HHMM)  # local time on that working day, from which it is sent
    recipients: list[str] = []  # staff ids (leaders or dispatchers); empty = every leader
    catch_up_workdays: int = Field(3, ge=0, le=20)  # a scheduler down that day still sends this many working days on


class LoggingConfig(Section):
    """[logging]: what the log may contain (docs/privacy.md)."""

    log_message_text: bool = False  # true: each logged turn carries what the person wrote (phones masked)


class PrivacyConfig(Section):
    """[privacy]: how long contact data of closed appeals is kept (docs/privacy.md)."""

    retain_years: int = Field(3, ge=1, le=30)  # `qihu privacy purge` without --before: closed this long ago


UnitKind = Literal["department", "township", "city_task_force", "service_centre"]
Role = Literal["handler", "dispatcher", "leader", "admin"]


class UnitConfig(Section):
    id: str = Field(pattern=r"^[a-z0-9_\-]{1,64}$")
    name: str
    kind: UnitKind
    aliases: list[str] = []


class StaffConfig(Section):
    id: str = Field(pattern=r"^[a-z0-9_\-]{1,64}$")
    name: str
    unit: str
    role: Role
    mobile: str = ""  # with DingTalk / 浙政钉 on and no dingtalk_userid: their userid is looked up by it
    # Their userid in the DingTalk org (浙政钉: accountId): notices reach them before they ever message the bot.
    dingtalk_userid: str = Field("", max_length=128)
    demo: bool = False  # offered in the web chat's demo picker


class OrgConfig(Section):
    units_csv: str = ""  # columns: id,name,kind,aliases (aliases separated by |)
    staff_csv: str = ""  # columns: id,name,unit,role,mobile (and optionally dingtalk_userid)


DINGTALK_API_BASES = {"dingtalk": "https://api.dingtalk.com", "zzd": "https://openplatform-pro.ding.zj.gov.cn"}
DINGTALK_OAPI_BASE = "https://oapi.dingtalk.com"


class DingTalkConfig(Section):
    """[channels.dingtalk]: the robot callback plus proactive sending (channels.md §1, §2, §4)."""

    enabled: bool = False
    dialect: Literal["dingtalk", "zzd"] = "dingtalk"  # zzd = 浙政钉 (专有钉钉) gateway
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")  # from QIHU_CHANNELS__DINGTALK__APP_SECRET
    robot_code: str = ""  # empty: the app_key (true for internal-app robots)
    tenant_id: str = ""  # zzd only: the tenant of work notifications
    signature: Literal["required", "if_present", "off"] = "required"
    # The signed timestamp may be this far from our clock; DingTalk's own limit (one hour) is the ceiling.
    # A (timestamp, sign) pair is remembered this long, in the database, and refused with another msgId.
    max_clock_skew_seconds: int = Field(3600, ge=10, le=3600)
    source_allowlist: list[IPvAnyNetwork] = []  # callback source networks (CIDR); empty = any address
    trusted_proxies: list[IPvAnyNetwork] = []  # our reverse proxies: X-Forwarded-For is read only behind them
    api_base: str = ""  # empty: the dialect's public endpoint
    # sessionWebhook URLs come inside the callback; only these prefixes are ever POSTed to.
    session_webhook_prefixes: list[str] = ["https://oapi.dingtalk.com/", "https://api.dingtalk.com/"]
    ack_seconds: float = Field(10.0, ge=0, le=30)  # answer the callback after at most this long
    flow_control_seconds: float = Field(60.0, gt=0)  # wait when DingTalk names a user in flowControlledStaffIdList
    http_timeout_seconds: float = Field(10.0, gt=0)
    # http: DingTalk POSTs each message to our public callback URL; stream: we hold a websocket open to
    # DingTalk (no public URL, and the transport is authenticated, body included). dialect "dingtalk" only.
    transport: Literal["http", "stream"] = "http"
    stream_reconnect_max_seconds: float = Field(60.0, ge=1, le=3600)  # reconnect waits 1 s, 2 s, 4 s … up to this
    # Staff with a mobile but no dingtalk_userid are looked up in the org directory by mobile, once
    # (DingTalk: topapi/v2/user/getbymobile; 浙政钉: /mozi/employee/get_by_mobiles). Errors are retried
    # every staff_lookup_seconds; a mobile the directory does not know, once a day.
    staff_lookup: bool = True
    staff_lookup_seconds: float = Field(60.0, ge=5, le=3600)

    @property
    def channel(self) -> str:
        return self.dialect

    @property
    def base_url(self) -> str:
        return (self.api_base or DINGTALK_API_BASES[self.dialect]).rstrip("/")

    @property
    def oapi_url(self) -> str:
        """DingTalk's older server API (oapi.dingtalk.com: the org directory); api_base stands for both."""
        return (self.api_base or DINGTALK_OAPI_BASE).rstrip("/")


class TelegramConfig(Section):
    """[channels.telegram]: python-telegram-bot as the transport (channels.md §5)."""

    enabled: bool = False
    token: SecretStr = SecretStr("")  # from QIHU_CHANNELS__TELEGRAM__TOKEN
    mode: Literal["webhook", "polling"] = "webhook"  # polling is for development without a public URL
    webhook_secret: SecretStr = SecretStr("")  # from QIHU_CHANNELS__TELEGRAM__WEBHOOK_SECRET
    webhook_url: str = ""  # public https URL; when set, setWebhook is called at start-up
    base_url: str = "https://api.telegram.org/bot"
    per_chat_per_second: float = Field(1.0, gt=0)
    per_group_per_minute: int = Field(20, ge=1)
    overall_per_second: int = Field(30, ge=1)
    max_flood_wait_seconds: float = Field(3.0, ge=0)  # longer waits go back to the outbox


class MonitoringConfig(Section):
    """[monitoring]: /readyz, /metrics and `qihu doctor` (docs/operations.md)."""

    metrics: bool = True  # serve /metrics (Prometheus text format)
    # Loopback clients need no token; others send "Authorization: Bearer <token>". Empty: loopback only.
    metrics_token: SecretStr = SecretStr("")  # from QIHU_MONITORING__METRICS_TOKEN
    multiprocess_dir: str = ""  # worker = "process": counter files of both processes; empty = a temporary dir
    db_timeout_seconds: float = Field(2.0, gt=0, le=60)  # the database must answer /readyz within this
    calendar_horizon_days: int = Field(60, ge=0, le=366)  # holidays must be known this far ahead


class ApiConfig(Section):
    """[api]: Open311 GeoReport v2, /api/v1 and signed webhooks for other systems (docs/api.md)."""

    enabled: bool = True  # serve /open311/v2 and /api/v1; clients still need a key (`qihu api-client add`)
    # What a client's appeals count as in the pool, reports and KPIs; each key names one of these.
    entry_sources: list[str] = Field(["12345热线", "企呼我应", "民呼我为", "基层治理四平台", "龙游通"], min_length=1)
    rate_per_minute: int = Field(120, ge=1)  # default per key; `qihu api-client add --rate` sets another
    rate_burst: int = Field(20, ge=1)  # calls a key may make at once before its rate applies
    page_size_max: int = Field(100, ge=1, le=1000)  # items per page of a list (cursor pagination)
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=60)  # a receiver must answer within this


class ChannelsConfig(Section):
    dingtalk: DingTalkConfig = DingTalkConfig()
    telegram: TelegramConfig = TelegramConfig()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QIHU_", env_nested_delimiter="__", extra="forbid")

    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    appeals: AppealsConfig = AppealsConfig()
    time_limits: TimeLimitsConfig = TimeLimitsConfig()
    nlp: NlpConfig = NlpConfig()
    calendar: CalendarConfig = CalendarConfig()
    webchat: WebChatConfig = WebChatConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    spool: SpoolConfig = SpoolConfig()
    channels: ChannelsConfig = ChannelsConfig()
    org: OrgConfig = OrgConfig()
    dispatch: DispatchConfig = DispatchConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    improvement: ImprovementConfig = ImprovementConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    logging: LoggingConfig = LoggingConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    reports: ReportsConfig = ReportsConfig()
    api: ApiConfig = ApiConfig()
    routing: list[RoutingRuleConfig] = []
    units: list[UnitConfig] = []
    staff: list[StaffConfig] = []

    toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


class ConfigError(StartupError):
    """Start-up stops with this: the message names the offending key."""


# Keys that moved: the old place is refused with the new one named (one setting, one place).
MOVED = {"scheduler.rating_window_days": "[evaluation] rating_window_days"}


def _key(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(root)"


def load_settings(path: str | Path | None = None, **overrides: object) -> Settings:
    """Read TOML (path, $QIHU_CONFIG, ./config.toml, else the shipped example) plus QIHU_* env."""
    misspelt = unknown_environment(os.environ, Settings)
    if misspelt:
        raise ConfigError("；".join(misspelt))
    chosen = path or os.environ.get("QIHU_CONFIG")
    if not chosen:
        chosen = "config.toml" if Path("config.toml").exists() else EXAMPLE_CONFIG
    toml_path = chosen_path = Path(chosen)
    if not toml_path.exists():
        raise ConfigError(f"配置文件不存在: {toml_path}")

    class _FileSettings(Settings):
        toml_path = chosen_path

    try:
        settings: Settings = _FileSettings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = _key(err["loc"])
            if err["type"] == "extra_forbidden" and key in MOVED:
                lines.append(f"配置项 {key} 已移到 {MOVED[key]}，请只在那里设置")
            elif err["type"] == "extra_forbidden":
                lines.append(f"未知配置项 {key}（请对照 config.example.toml 检查拼写）")
            elif err["type"] == "missing":
                lines.append(f"缺少配置项 {key}")
            else:
                lines.append(f"配置项 {key} 有误: {err['msg']}{_given(key, err.get('input'))}")
        raise ConfigError(f"配置文件 {toml_path} 无法使用:\n  " + "\n  ".join(lines)) from None
    except Exception as exc:  # a TOML syntax error arrives as TOMLDecodeError
        raise ConfigError(f"配置文件 {toml_path} 无法解析: {exc}") from None
    _check_channels(settings)
    return _with_csv_org(settings, toml_path.parent)


def _given(key: str, value: object) -> str:
    """The offending value, unless it is a secret or a whole table."""
    if isinstance(value, (dict, list)) or re.search(r"secret|token|password", key):
        return ""
    return f"（当前值 {str(value)[:60]!r}）"


def _check_channels(settings: Settings) -> None:
    """An enabled channel without its secrets would fail on the first message: stop at start-up."""
    problems = channel_problems(settings)
    if problems:
        raise ConfigError("渠道配置不完整:\n  " + "\n  ".join(problems))


def channel_problems(settings: Settings) -> list[str]:
    """What an enabled channel lacks (also checked by /readyz and `qihu doctor`)."""
    problems = []
    ding = settings.channels.dingtalk
    if ding.enabled:
        if not ding.app_key:
            problems.append("缺少配置项 channels.dingtalk.app_key")
        if not ding.app_secret.get_secret_value():
            problems.append("缺少密钥 channels.dingtalk.app_secret"
                            "（请设置环境变量 QIHU_CHANNELS__DINGTALK__APP_SECRET）")
        if ding.dialect == "zzd" and not ding.tenant_id:
            problems.append("浙政钉（dialect = \"zzd\"）需要配置 channels.dingtalk.tenant_id")
        if ding.dialect == "zzd" and ding.transport == "stream":
            problems.append("Stream 模式（transport = \"stream\"）只适用于钉钉（dialect = \"dingtalk\"），"
                            "浙政钉请使用 transport = \"http\"")
    tg = settings.channels.telegram
    if tg.enabled:
        if not tg.token.get_secret_value():
            problems.append("缺少密钥 channels.telegram.token（请设置环境变量 QIHU_CHANNELS__TELEGRAM__TOKEN）")
        secret = tg.webhook_secret.get_secret_value()
        if tg.mode == "webhook" and not re.fullmatch(r"[A-Za-z0-9_\-]{1,256}", secret):
            problems.append("Telegram webhook 模式需要 channels.telegram.webhook_secret（1–256 位字母、数字、_ 或 -，"
                            "环境变量 QIHU_CHANNELS__TELEGRAM__WEBHOOK_SECRET）")
    return problems


def _with_csv_org(settings: Settings, base: Path) -> Settings:
    units = list(settings.units)
    staff = list(settings.staff)
    for key, name in (("org.units_csv", settings.org.units_csv), ("org.staff_csv", settings.org.staff_csv)):
        if name and not (base / name).is_file():
            raise ConfigError(f"配置项 {key} 指定的文件不存在：{(base / name).resolve()}"
                              "（相对路径从配置文件所在目录算起）")
    try:
        if settings.org.units_csv:
            for row in _read_csv(base / settings.org.units_csv):
                units.append(UnitConfig(id=row["id"], name=row["name"], kind=row["kind"],
                                        aliases=[a for a in row.get("aliases", "").split("|") if a]))
        if settings.org.staff_csv:
            for row in _read_csv(base / settings.org.staff_csv):
                staff.append(StaffConfig(id=row["id"], name=row["name"], unit=row["unit"], role=row["role"],
                                         mobile=row.get("mobile") or "",
                                         dingtalk_userid=(row.get("dingtalk_userid") or "").strip()))
    except (ValidationError, KeyError, OSError) as exc:
        raise ConfigError(f"组织/人员 CSV 有误: {exc}") from None
    unit_ids = {u.id for u in units}
    for s in staff:
        if s.unit not in unit_ids:
            raise ConfigError(f"人员 {s.id} 的单位 {s.unit!r} 未在 units 中配置")
    userids = [s.dingtalk_userid for s in staff if s.dingtalk_userid]
    for userid in sorted({u for u in userids if userids.count(u) > 1}):
        raise ConfigError(f"钉钉 userid {userid!r} 被多名人员使用（dingtalk_userid 每人一个，不能重复）")
    staff_ids = {s.id for s in staff}
    for reviewer in settings.improvement.reviewers:
        if reviewer not in staff_ids:
            raise ConfigError(f"improvement.reviewers 中的人员 {reviewer!r} 未在 staff 中配置")
    if settings.improvement.min_votes > len(settings.improvement.reviewers):
        raise ConfigError(f"improvement.min_votes（{settings.improvement.min_votes}）不能多于评审专家人数"
                          f"（improvement.reviewers 共 {len(settings.improvement.reviewers)} 人）")
    roles = {s.id: s.role for s in staff}
    for staff_id in settings.reports.recipients:
        if roles.get(staff_id) not in ("leader", "dispatcher"):
            raise ConfigError(f"配置项 reports.recipients 中的 {staff_id!r} 不是已配置的领导或调度员"
                              "（报告下载链接只给领导和服务中心调度员）")
    for i, rule in enumerate(settings.routing, start=1):
        for unit in (rule.lead, *rule.co, *([rule.area] if rule.area else [])):
            if unit not in unit_ids:
                raise ConfigError(f"routing 第 {i} 条（{rule.category}）引用的单位 {unit!r} 未在 units 中配置")
    return settings.model_copy(update={"units": units, "staff": staff})


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))
