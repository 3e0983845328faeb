"""Config: TOML plus QIHU_* environment overrides; a wrong key stops start-up naming the key."""

from __future__ import annotations

import pytest

from bot.config import EXAMPLE_CONFIG, ConfigError, load_settings


def test_example_config_loads_with_a_whole_demo_county():
    s = load_settings(EXAMPLE_CONFIG)
    kinds = {u.kind for u in s.units}
    assert kinds == {"department", "township", "city_task_force", "service_centre"}
    assert len([u for u in s.units if u.kind == "department"]) >= 12
    assert {m.role for m in s.staff} == {"handler", "dispatcher", "leader", "admin"}
    assert (s.server.host, s.server.port) == ("127.0.0.1", 8080)
    assert s.database.url == "sqlite+aiosqlite:///./qihu.db"


def test_environment_overrides_nested_keys(monkeypatch):
    monkeypatch.setenv("QIHU_DATABASE__URL", "postgresql+asyncpg://qihu@127.0.0.1:5432/qihu")
    monkeypatch.setenv("QIHU_TIME_LIMITS__NORMAL", "7")
    monkeypatch.setenv("QIHU_WEBCHAT__PORTAL_SECRET", "s3cret")
    s = load_settings(EXAMPLE_CONFIG)
    assert s.database.url.startswith("postgresql+asyncpg://")
    assert s.time_limits.normal == 7
    assert s.webchat.portal_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[server]\nprot = 8080\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"未知配置项 server\.prot"):
        load_settings(path)


def test_a_moved_key_names_its_new_place(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[scheduler]\nrating_window_days = 10\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scheduler\.rating_window_days 已移到 \[evaluation\] rating_window_days"):
        load_settings(path)


def test_the_rating_window_is_one_setting_for_the_sweeps_and_the_kpis(monkeypatch):
    from bot.bootstrap import evaluation_policy, schedule_from
    monkeypatch.setenv("QIHU_EVALUATION__RATING_WINDOW_DAYS", "10")
    settings = load_settings(EXAMPLE_CONFIG)
    assert schedule_from(settings).rating_window_days == evaluation_policy(settings).rating_window_days == 10


def test_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("QIHU_SERVER__PORT", "99999")
    with pytest.raises(ConfigError, match=r"配置项 server\.port 有误"):
        load_settings(EXAMPLE_CONFIG)


def test_staff_of_unknown_unit_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[[staff]]\nid = "x"\nname = "某人"\nunit = "nowhere"\nrole = "handler"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="nowhere"):
        load_settings(path)


def test_org_from_csv(tmp_path):
    (tmp_path / "units.csv").write_text("id,name,kind,aliases\nlyz,龙游镇,township,龙游|龙镇\n", encoding="utf-8")
    (tmp_path / "staff.csv").write_text("id,name,unit,role,mobile\nqian,钱某,lyz,handler,13800000000\n",
                                        encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text('[org]\nunits_csv = "units.csv"\nstaff_csv = "staff.csv"\n', encoding="utf-8")
    s = load_settings(path)
    assert [(u.id, u.aliases) for u in s.units] == [("lyz", ["龙游", "龙镇"])]
    assert s.staff[0].unit == "lyz"


def test_staff_csv_may_give_each_a_dingtalk_userid_once(tmp_path):
    (tmp_path / "units.csv").write_text("id,name,kind,aliases\nlyz,龙游镇,township,\n", encoding="utf-8")
    (tmp_path / "staff.csv").write_text("id,name,unit,role,mobile,dingtalk_userid\n"
                                        "qian,钱某,lyz,handler,13800000000, qian01 \nsun,孙某,lyz,handler,,\n",
                                        encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text('[org]\nunits_csv = "units.csv"\nstaff_csv = "staff.csv"\n', encoding="utf-8")
    assert [(s.id, s.mobile, s.dingtalk_userid) for s in load_settings(path).staff] == [
        ("qian", "13800000000", "qian01"), ("sun", "", "")]
    (tmp_path / "staff.csv").write_text("id,name,unit,role,mobile,dingtalk_userid\n"
                                        "qian,钱某,lyz,handler,,u1\nsun,孙某,lyz,handler,,u1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="钉钉 userid 'u1' 被多名人员使用"):
        load_settings(path)


def test_syntax_error_is_reported(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[server\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="无法解析"):
        load_settings(path)


def test_report_recipients_must_be_leaders_or_dispatchers(monkeypatch):
    monkeypatch.setenv("QIHU_REPORTS__RECIPIENTS", '["wang-leader", "li-gdgs"]')
    with pytest.raises(ConfigError, match=r"reports\.recipients 中的 'li-gdgs' 不是已配置的领导或调度员"):
        load_settings(EXAMPLE_CONFIG)
    monkeypatch.setenv("QIHU_REPORTS__RECIPIENTS", '["wang-leader", "chen-dispatch"]')
    assert load_settings(EXAMPLE_CONFIG).reports.recipients == ["wang-leader", "chen-dispatch"]
    monkeypatch.setenv("QIHU_REPORTS__DELIVER_AT", "9点")
    with pytest.raises(ConfigError, match=r"配置项 reports\.deliver_at 有误"):
        load_settings(EXAMPLE_CONFIG)
