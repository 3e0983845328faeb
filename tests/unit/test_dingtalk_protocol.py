"""DingTalk / 浙政钉 wire details: signature test vectors, tolerant parsing checked against the official SDK."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from dingtalk_stream.chatbot import ChatbotMessage

from bot.channels.dingtalk.inbound import PayloadError, parse_callback
from bot.channels.dingtalk.render import dtmd_link, render_markdown
from bot.channels.dingtalk.signing import callback_signature, verify_callback, zzd_param_string, zzd_signature
from bot.messages import Choice


def test_callback_signature_vector():
    # channels.md §1.1
    assert callback_signature("test-app-secret", "1700000000000") == "dhJB8TJ0cHPEbwpUauugV2Wz8v4qlWoO+C42nEhJW+c="


def test_zzd_gateway_signature_vector():
    # channels.md §4.2
    params = [("tenantId", "12345"), ("receiverIds", "111,222"),
              ("msg", '{"msgtype":"text","text":{"content":"hi"}}')]
    signature = zzd_signature("test-secret-key", "POST", "2024-01-01T12:00:00.000+08:00", "17040816000001234",
                              "/message/workNotification", params)
    assert signature == "Z3e+KlciY9rKlK5ichLJpYdsw8jtIODVLE99UwPWCnI="


def test_zzd_param_string_sorts_case_insensitively_and_drops_empty_pairs():
    params = [("b", "2"), ("A", "1"), ("c", ""), ("", "x"), ("a", "3"), ("a", "0")]
    assert zzd_param_string(params) == "A=1&a=0&a=3&b=2"


NOW = 1_700_000_000_000


@pytest.mark.parametrize(("headers", "mode", "expected"), [
    ({"timestamp": str(NOW), "sign": callback_signature("s", str(NOW))}, "required", None),
    ({}, "required", 401),
    ({}, "if_present", None),
    ({}, "off", None),
    ({"timestamp": str(NOW)}, "if_present", 401),
    ({"timestamp": str(NOW), "sign": "bad"}, "if_present", 403),
    ({"timestamp": str(NOW - 3_600_001), "sign": callback_signature("s", str(NOW - 3_600_001))}, "required", 403),
    ({"timestamp": str(NOW - 3_500_000), "sign": callback_signature("s", str(NOW - 3_500_000))}, "required", None),
])
def test_verify_callback(headers, mode, expected):
    result = verify_callback(headers, "s", mode, NOW)
    assert (result[0] if result else None) == expected


BASE = {
    "msgId": "msgAbc==", "createAt": NOW, "conversationType": "1", "conversationId": "cidXyz==",
    "senderId": "$:LWCP_v1:$u1", "senderNick": "张三", "senderCorpId": "dingcorp1", "senderStaffId": "user001",
    "chatbotUserId": "$:LWCP_v1:$bot", "chatbotCorpId": "dingcorp1", "robotCode": "dingappkey1",
    "isAdmin": False, "isInAtList": True, "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
    "sessionWebhook": "http://127.0.0.1:9/robot/sendBySession?session=s1",
    "sessionWebhookExpiredTime": NOW + 5_400_000,
}

PAYLOADS = {
    "text": BASE | {"msgtype": "text", "text": {"content": " 评价 5"}},
    "picture": BASE | {"msgtype": "picture", "content": {"downloadCode": "pic-code"}},
    "richText": BASE | {"msgtype": "richText", "content": {"richText": [
        {"text": "变压器报装"}, {"type": "picture", "downloadCode": "rich-pic"}, {"text": "两个月没答复"}]}},
    "file": BASE | {"msgtype": "file", "content": {"downloadCode": "file-code", "fileName": "发票.pdf"}},
    "audio": BASE | {"msgtype": "audio", "content": {"downloadCode": "a", "duration": 3000, "recognition": "停电了"}},
}


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_parsing_agrees_with_the_official_sdk(kind):
    payload = json.loads(json.dumps(PAYLOADS[kind]))  # exactly what arrives on the wire
    ours = parse_callback(payload)
    sdk = ChatbotMessage.from_dict(payload)
    assert ours.message_id == sdk.message_id
    assert ours.staff_id == sdk.sender_staff_id == ours.user_id
    assert ours.display_name == sdk.sender_nick
    assert ours.conversation_type == sdk.conversation_type == "1"
    assert ours.conversation_id == sdk.conversation_id
    assert ours.session_webhook == sdk.session_webhook
    assert ours.session_expires_ms == sdk.session_webhook_expired_time
    assert ours.kind == sdk.message_type
    if kind in ("text", "richText"):
        assert ours.text == "\n".join(s.strip() for s in sdk.get_text_list())
    if kind in ("picture", "richText"):
        assert [a.ref for a in ours.attachments if a.kind == "picture"] == sdk.get_image_list()
    if kind == "file":  # the SDK does not parse files; the raw content stays in extensions
        assert ours.attachments[0].ref == sdk.extensions["content"]["downloadCode"]
        assert ours.attachments[0].name == "发票.pdf"
    if kind == "audio":
        assert ours.text == sdk.extensions["content"]["recognition"] == "停电了"


def test_parsing_tolerates_the_other_shapes():
    # createAt as a string (the doc table says String), the 浙政钉 richText shape, pictureDownloadCode.
    zzd = parse_callback({"msgId": "m1", "senderId": "$:x", "createAt": str(NOW), "msgtype": "richText",
                          "richText": {"richTextList": [{"text": "第一段"}, {"text": "第二段"}]}})
    assert zzd.text == "第一段\n第二段" and zzd.user_id == "$:x" and zzd.create_at_ms == NOW
    pic = parse_callback({"msgId": "m2", "senderStaffId": "u", "msgtype": "picture",
                          "content": {"pictureDownloadCode": "pdc"}})
    assert [a.ref for a in pic.attachments] == ["pdc"]
    # A picture without content would make the SDK raise KeyError; we just see no attachment.
    assert parse_callback({"msgId": "m3", "senderStaffId": "u", "msgtype": "picture"}).attachments == []
    assert parse_callback({"msgId": "m4", "senderStaffId": "u", "text": "纯字符串"}).text == "纯字符串"
    with pytest.raises(PayloadError):
        parse_callback({"msgtype": "text", "text": {"content": "no id"}})


def test_choices_render_as_numbered_one_tap_links():
    title, md = render_markdown("请选择诉求类型：\n第二行", [Choice("咨询", "咨询"), Choice("[投诉]", "投诉 5")])
    assert title == "请选择诉求类型："
    assert "请选择诉求类型：  \n第二行" in md
    assert "1. [咨询](dtmd://dingtalkclient/sendMessage?content=%E5%92%A8%E8%AF%A2)" in md
    assert "2. [［投诉］](" in md
    assert unquote(dtmd_link("评分 5").split("content=")[1]) == "评分 5"
