"""The qihu command as an administrator uses it: demo, init, db upgrade, console chat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]


def qihu(*args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin, text=True,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})})


def test_demo_prints_a_whole_filing_conversation(tmp_path):
    result = qihu("demo", cwd=tmp_path, env={"QIHU_CONFIG": str(ROOT / "config.example.toml")})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "企业> 91330825MA2DH4KX3T" in out and "第 18 位校验码「T」" in out
    assert "诉求已登记，编号 QH" in out and "待受理" in out
    assert not (tmp_path / "qihu.db").exists()  # the demo leaves no database behind


def test_init_writes_config_and_database_then_upgrade_is_idempotent(tmp_path):
    result = qihu("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "config.toml").read_text(encoding="utf-8")
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    # A deployment starts with the demo picker off; everything else is the example as shipped.
    assert "\ndemo_mode = false" in written and "\ndemo_mode = true" in example
    assert written == example.replace("\ndemo_mode = true", "\ndemo_mode = false")
    assert (tmp_path / "qihu.db").exists()
    again = qihu("db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0 and "数据库已升级" in again.stdout


def test_wrong_config_key_stops_with_its_name(tmp_path):
    (tmp_path / "config.toml").write_text("[database]\nurll = 'x'\n", encoding="utf-8")
    result = qihu("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 2
    assert "未知配置项 database.urll" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_chat_as_enterprise_and_as_staff(tmp_path):
    env = {"QIHU_CONFIG": str(ROOT / "config.example.toml")}
    result = qihu("chat", cwd=tmp_path, env=env, stdin="我要反映\n取消\n查询\n")
    assert result.returncode == 0, result.stderr
    assert "请描述您遇到的问题" in result.stdout and "已取消当前操作" in result.stdout
    assert "您目前没有在办或待评价的诉求" in result.stdout
    staff = qihu("chat", "--staff", "chen-dispatch", cwd=tmp_path, env=env, stdin="帮助\n")
    assert staff.returncode == 0 and "调度员" in staff.stdout
    nobody = qihu("chat", "--staff", "nobody", cwd=tmp_path, env=env, stdin="")
    assert nobody.returncode != 0 and "没有编号为 nobody 的在职人员" in nobody.stderr


def test_cases_export_writes_the_library_even_when_empty(tmp_path):
    assert qihu("init", cwd=tmp_path).returncode == 0
    result = qihu("cases", "export", "--out", "判例.xlsx", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "已导出典型服务判例 0 个" in result.stdout
    rows = list(load_workbook(tmp_path / "判例.xlsx")["典型服务判例"].iter_rows(values_only=True))
    assert rows == [("编号", "类别", "承办单位", "用时（工作日）", "企业评价", "诉求内容", "做法", "列入人",
                     "列入时间")]
