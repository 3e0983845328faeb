"""The environment check knows every config key (no false alarms) and names the nearest one for a typo."""

from __future__ import annotations

import tomllib

from bot.config import EXAMPLE_CONFIG, NON_CONFIG_ENV, Settings, unknown_environment
from bot.startup import one_line


def _leaf_names(table: dict, prefix: str = "QIHU_") -> list[str]:
    names = []
    for key, value in table.items():
        name = f"{prefix}{key.upper()}"
        names.append(name)
        if isinstance(value, dict):
            names += _leaf_names(value, f"{name}__")
    return names


def test_every_key_of_the_example_config_is_a_valid_variable_in_any_case():
    example = tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    names = _leaf_names(example)
    assert "QIHU_EVALUATION__INDEX_WEIGHTS__SATISFACTION" in names
    names += ["QIHU_CHANNELS__DINGTALK__APP_SECRET", "QIHU_CHANNELS__TELEGRAM__TOKEN", "QIHU_WEBCHAT__PORTAL_SECRET"]
    environ = {name: "x" for name in names} | {name.lower(): "x" for name in names} | {n: "x" for n in NON_CONFIG_ENV}
    assert unknown_environment(environ | {"PATH": "/usr/bin", "QIHUX": "1"}, Settings) == []


def test_typos_are_named_with_the_nearest_valid_variable():
    problems = unknown_environment({"QIHU_SCHEDULER__ENABLE": "false", "QIHU_TIME_LIMITS_NORMAL": "7"}, Settings)
    assert problems == [
        "环境变量 QIHU_SCHEDULER__ENABLE 不对应任何配置项，是否应为 QIHU_SCHEDULER__ENABLED？",
        "环境变量 QIHU_TIME_LIMITS_NORMAL 不对应任何配置项，是否应为 QIHU_TIME_LIMITS__NORMAL？",
    ]


def test_a_list_of_problems_folds_into_one_line():
    folded = one_line("配置文件 x 无法使用:\n  未知配置项 a\n  配置项 b 有误")
    assert folded == "配置文件 x 无法使用: 未知配置项 a；配置项 b 有误"
