"""Channel configuration: secrets from the environment, refusals that name the key, routes only when enabled."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import EXAMPLE_CONFIG, ConfigError, load_settings
from bot.server import make_web_app
from tests.conftest import start_app


def test_channels_are_off_by_default():
    settings = load_settings(EXAMPLE_CONFIG)
    assert not settings.channels.dingtalk.enabled and not settings.channels.telegram.enabled
    assert settings.channels.dingtalk.signature == "required"
    assert settings.channels.dingtalk.base_url == "https://api.dingtalk.com"


def test_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__ENABLED", "true")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__APP_KEY", "dingkey")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__APP_SECRET", "s3cret")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__DIALECT", "zzd")
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__TENANT_ID", "12345")
    settings = load_settings(EXAMPLE_CONFIG)
    ding = settings.channels.dingtalk
    assert ding.enabled and ding.app_secret.get_secret_value() == "s3cret" and ding.channel == "zzd"
    assert ding.base_url == "https://openplatform-pro.ding.zj.gov.cn"
    assert "s3cret" not in repr(settings)


def test_an_enabled_channel_without_its_secret_stops_start_up(monkeypatch):
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__ENABLED", "true")
    monkeypatch.setenv("QIHU_CHANNELS__TELEGRAM__ENABLED", "true")
    with pytest.raises(ConfigError) as err:
        load_settings(EXAMPLE_CONFIG)
    message = str(err.value)
    assert "QIHU_CHANNELS__DINGTALK__APP_SECRET" in message and "channels.dingtalk.app_key" in message
    assert "QIHU_CHANNELS__TELEGRAM__TOKEN" in message and "webhook_secret" in message


def test_a_bad_signature_mode_is_refused(monkeypatch):
    monkeypatch.setenv("QIHU_CHANNELS__DINGTALK__SIGNATURE", "maybe")
    with pytest.raises(ConfigError, match=r"channels\.dingtalk\.signature"):
        load_settings(EXAMPLE_CONFIG)


async def test_channel_routes_exist_only_when_enabled(settings, clock):
    app = await start_app(settings, clock)
    client = TestClient(TestServer(make_web_app(app), host="127.0.0.1"))
    await client.start_server()
    try:
        assert app.channels == []
        assert (await client.post("/channels/dingtalk/callback", json={})).status == 404
        assert (await client.post("/channels/telegram/webhook", json={})).status == 404
    finally:
        await client.close()
        await app.close()
