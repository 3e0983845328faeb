"""The /api/v1 request and response models, and the OpenAPI 3.1 document generated from them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.json_schema import models_json_schema

from bot.services.webhooks import EVENTS, SIGNATURE_HEADER, TIMESTAMP_HEADER


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Every time out is UTC with a Z, whichever database or code path it came from.
Utc = Annotated[datetime, PlainSerializer(_utc, return_type=str, when_used="json")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AppealIn(_In):
    """A new appeal from another system; `external_id` makes submitting it again harmless."""

    external_id: str | None = Field(None, max_length=60, description="the client's own ticket number")
    company: str = Field(min_length=2, max_length=100, description="企业名称")
    uscc: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    contact: str = Field(min_length=1, max_length=50, description="联系人")
    phone: str = Field(min_length=11, max_length=20, description="联系人手机")
    area: str = Field(min_length=1, max_length=200, description="乡镇（街道）名称，或写明乡镇的地址")
    text: str = Field(min_length=1, max_length=20000, description="诉求内容")
    type: Literal["咨询", "求助", "投诉", "建议"] = "求助"
    category: str = Field("", max_length=32, description="问题类别；空则按内容建议")
    entry_source: str = Field("", max_length=32, description="受理来源；空则为密钥的来源")


class AppealOut(BaseModel):
    number: str
    external_id: str | None
    entry_source: str
    status: str
    status_label: str
    open311_status: Literal["open", "closed"]
    category: str
    type: str
    area: str
    text: str
    enterprise_name: str
    uscc: str
    lead_unit: str | None
    co_units: list[str]
    submitted_at: Utc
    promised_at: Utc | None
    due_at: Utc | None
    contact: str | None = Field(None, description="only with the read_personal scope")
    phone: str | None = Field(None, description="only with the read_personal scope")


class SubmitOut(BaseModel):
    created: bool = Field(description="false: this external_id was submitted before; the appeal is that one")
    appeal: AppealOut


class AppealPage(BaseModel):
    items: list[AppealOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class EventOut(BaseModel):
    at: Utc
    action: str
    action_label: str
    from_status: str | None
    to_status: str
    actor: str
    note: str


class TimelineOut(BaseModel):
    number: str
    events: list[EventOut]


class RatingIn(_In):
    """A rating the client collected from the enterprise (e.g. on a hotline return call)."""

    level: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    solved: Literal["已解决", "部分解决", "未解决"]
    comment: str = Field("", max_length=300)
    tags: list[str] = Field(default_factory=list, max_length=10)


class RatingOut(BaseModel):
    round: int
    level: int
    level_label: str
    solved: str
    comment: str
    bad: bool
    verdict: str | None
    rated_at: Utc


class RatingsOut(BaseModel):
    number: str
    ratings: list[RatingOut]


class CallbackOut(BaseModel):
    reason: str
    created_at: Utc
    method: str | None
    result: str | None
    satisfied: bool | None
    done_at: Utc | None


class CallbacksOut(BaseModel):
    number: str
    callbacks: list[CallbackOut]


class WebhookIn(_In):
    url: str = Field(max_length=2000, description="where events are POSTed")
    secret: str = Field(min_length=16, max_length=128, description="signs every delivery (HMAC-SHA256)")
    all_appeals: bool = Field(False, description="every appeal's events, not only those this client submitted")


class WebhookOut(BaseModel):
    id: int
    url: str
    all_appeals: bool
    created_at: Utc
    events: list[str]


class WebhookList(BaseModel):
    items: list[WebhookOut]


class SourcesOut(BaseModel):
    entry_sources: list[str]


class ErrorOut(BaseModel):
    error: str = Field(description="the reason, in Chinese")


def _op(summary: str, scope: str | None, ok: tuple[int, type[BaseModel]] | None, body: type[BaseModel] | None = None,
        params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = (400, 401, 403, 429)) -> dict[str, Any]:
    def ref(m: type[BaseModel]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{m.__name__}"}}}}

    op: dict[str, Any] = {"summary": summary, "responses": {}}
    if scope:
        op["security"] = [{"apiKey": []}]
        op["description"] = f"scope: {scope}"
    if ok:
        op["responses"][str(ok[0])] = {"description": "OK", **ref(ok[1])}
    else:
        op["responses"]["204"] = {"description": "done"}
    for code in errors:
        op["responses"][str(code)] = {"description": "refused, with the reason", **ref(ErrorOut)}
    if body:
        op["requestBody"] = {"required": True, **ref(body)}
    if params:
        op["parameters"] = params
    return op


def _param(name: str, where: str, description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": {"type": "string"}}


NUMBER = _param("number", "path", "诉求编号, e.g. QH20261125-0007")
MODELS = (AppealIn, AppealOut, SubmitOut, AppealPage, EventOut, TimelineOut, RatingIn, RatingOut, RatingsOut,
          CallbackOut, CallbacksOut, WebhookIn, WebhookOut, WebhookList, SourcesOut, ErrorOut)


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """Paths listed here, every schema generated by pydantic from the models above."""
    _, schemas = models_json_schema([(m, "validation" if m.__name__.endswith("In") else "serialization")
                                     for m in MODELS], ref_template="#/components/schemas/{model}")
    page = [_param("cursor", "query", "next_cursor of the previous page"),
            _param("limit", "query", "items per page (at most [api] page_size_max)"),
            _param("status", "query", "open | closed, or an internal status such as in_progress")]
    paths = {
        "/api/v1/appeals": {
            "post": _op("Submit an appeal", "submit", (201, SubmitOut), AppealIn, errors=(400, 401, 403, 409, 429)),
            "get": _op("List appeals, oldest first, by cursor", "read", (200, AppealPage), params=page),
        },
        "/api/v1/appeals/{number}": {"get": _op("One appeal", "read", (200, AppealOut), params=[NUMBER],
                                                errors=(401, 403, 404, 429))},
        "/api/v1/appeals/{number}/timeline": {"get": _op("The appeal's timeline", "read", (200, TimelineOut),
                                                         params=[NUMBER], errors=(401, 403, 404, 429))},
        "/api/v1/appeals/{number}/ratings": {
            "get": _op("Ratings of the appeal", "read", (200, RatingsOut), params=[NUMBER],
                       errors=(401, 403, 404, 429)),
            "post": _op("Record the enterprise's rating", "rate", (201, RatingOut), RatingIn, params=[NUMBER],
                        errors=(400, 401, 403, 404, 409, 429)),
        },
        "/api/v1/appeals/{number}/callbacks": {"get": _op("Call-backs (回访) of the appeal", "callbacks",
                                                          (200, CallbacksOut), params=[NUMBER],
                                                          errors=(401, 403, 404, 429))},
        "/api/v1/sources": {"get": _op("Configured entry sources", "read", (200, SourcesOut))},
        "/api/v1/webhooks": {
            "post": _op("Subscribe a URL to this client's appeals' events", "read", (201, WebhookOut), WebhookIn),
            "get": _op("This client's subscriptions", "read", (200, WebhookList)),
        },
        "/api/v1/webhooks/{id}": {"delete": _op("Unsubscribe", "read", None, params=[_param("id", "path", "id")],
                                                errors=(401, 403, 404, 429))},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "企呼 qihu API", "version": "1.0.0",
                 "description": "Appeals from other systems, their timelines, ratings and call-backs. Webhooks: "
                                f"events {', '.join(EVENTS)}; each POST carries {TIMESTAMP_HEADER} and "
                                f"{SIGNATURE_HEADER} = sha256=hex(HMAC-SHA256(secret, timestamp + '.' + body))."},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas["$defs"],
                       "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                                      "description": "the key from `qihu api-client add`"}}},
    }
