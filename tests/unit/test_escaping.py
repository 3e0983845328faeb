"""bot.escaping: each format's escape leaves the words and removes the markup."""

from __future__ import annotations

from urllib.parse import unquote

from bot.escaping import dingtalk_markdown, dtmd_content, html_text, xlsx_cell


def test_dingtalk_markdown_makes_no_link_heading_mention_or_tag():
    assert dingtalk_markdown("[县政府通知](https://evil.example/a)") == "［县政府通知］(https://evil.example/a)"
    assert dingtalk_markdown("# 通知\n## 二级\n正文 #3") == "＃ 通知\n＃＃ 二级\n正文 ＃3"
    assert dingtalk_markdown("@所有人 @13800138000") == "＠所有人 ＠13800138000"
    assert dingtalk_markdown("<font color=red>红</font>") == "＜font color=red＞红＜/font＞"
    assert dingtalk_markdown("![x](https://evil.example/p.png)") == "！［x］(https://evil.example/p.png)"
    assert dingtalk_markdown("标题\n===\n- 项\n  + 项\n> 引用") == "标题\n＝==\n－ 项\n  ＋ 项\n＞ 引用"
    assert dingtalk_markdown("**粗** _斜_ `码` ~~删~~ a|b \\") == "＊＊粗＊＊ ＿斜＿ ｀码｀ ～～删～～ a｜b ＼"
    assert dingtalk_markdown("示范精密机械有限公司（溪口镇）") == "示范精密机械有限公司（溪口镇）"


def test_dtmd_content_cannot_end_the_link():
    value = "确认) [x](https://evil.example) &a=b"
    assert ")" not in dtmd_content(value) and " " not in dtmd_content(value)
    assert unquote(dtmd_content(value)) == value


def test_html_text_escapes_tags_and_quotes():
    assert html_text("<script>\"x\" & 'y'</script>") == "&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/script&gt;"


def test_xlsx_cell_never_starts_a_formula():
    for payload in ("=cmd|' /C calc'!A0", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "＝1"):
        assert xlsx_cell(payload) == "'" + payload
    assert xlsx_cell("正常文字 = 1") == "正常文字 = 1"
    assert xlsx_cell("坏\x00字\x1f") == "坏\ufffd字\ufffd"
    assert xlsx_cell(-5) == -5 and xlsx_cell(None) is None and xlsx_cell(1.5) == 1.5
