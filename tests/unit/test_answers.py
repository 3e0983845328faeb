"""What an answer is: question, name, company name, short report; and which command a typo meant."""

from __future__ import annotations

import pytest

from bot.domain import answers
from bot.domain.errors import InvalidInput
from bot.services import typos


@pytest.mark.parametrize(("typed", "name"), [("张伟", "张伟"), ("我是张伟", "张伟"), ("联系人：李明", "李明"),
                                             ("王女士", "王女士"), ("阿卜杜·热合曼", "阿卜杜·热合曼"),
                                             ("Zhang Wei", "Zhang Wei")])
def test_names_as_people_type_them(typed, name):
    assert answers.person_name(typed, 20) == name


@pytest.mark.parametrize(("typed", "code"), [
    ("请问你们政务服务中心周六上班吗？", "not_a_name_question"),
    ("怎么填", "not_a_name_question"),
    ("我们公司的负责人是张伟", "not_a_name_sentence"),
    ("好的", "not_a_name_sentence"),
    ("你好", "not_a_name_sentence"),
    ("138 0013 8000", "contact_is_number"),
    ("张", "contact_too_short"),
])
def test_what_is_not_a_name_says_what_it_is(typed, code):
    with pytest.raises(InvalidInput) as err:
        answers.person_name(typed, 20)
    assert err.value.code == code


@pytest.mark.parametrize(("typed", "code"), [
    ("请问企业名称要写全称吗？", "not_a_company_question"),
    ("我们是做机械配件的", "not_a_company_sentence"),
    ("91330825MA2DH4KX39", "company_is_code"),
    ("12345", "company_is_number"),
])
def test_what_is_not_a_company_name_says_what_it_is(typed, code):
    with pytest.raises(InvalidInput) as err:
        answers.company_name(typed, 60)
    assert err.value.code == code
    assert answers.company_name("浙江示范（集团）有限公司", 60) == "浙江示范（集团）有限公司"


@pytest.mark.parametrize("text", ["停电了", "断网了", "路灯坏了", "被罚款了", "厂门口又积水了"])
def test_short_reports_read_like_problems(text):
    assert answers.reads_like_problem(text)


@pytest.mark.parametrize("text", ["你好", "查询", "谢谢", ""])
def test_chatter_does_not(text):
    assert not answers.reads_like_problem(text)


@pytest.mark.parametrize(("typed", "meant"), [("查寻", "查询"), ("分排", "分派"), ("询查", "查询"), ("chaxun", "查询"),
                                              ("前收", "签收"), ("督半", "督办")])
def test_typos_find_the_command(typed, meant):
    assert typos.nearest(typed, ["查询", "分派", "签收", "督办", "待分派", "/status"]) == meant


def test_what_is_no_typo():
    names = ["查询", "分派", "签收"]
    assert typos.nearest("查询", names) is None  # the command itself
    assert typos.nearest("张伟", names) is None
    assert typos.nearest("查看", names, strict=True) is None  # one edit off counts only outside a dialogue
    assert typos.split_head("查寻QH20261125-0001 看看") == ("查寻", "QH20261125-0001 看看")
