"""What a typed answer is: a question, a person's name, a company name, or a short report of a problem."""

from __future__ import annotations

import re

from bot.domain.errors import InvalidInput

_QUESTION_END = re.compile(r"(?:[?？]|[吗嘛呢么][\s。.!！~～]*)$")
_QUESTION_START = re.compile(r"^(?:请问|问一下|想问|咨询一下|怎么|怎样|如何|为什么|为啥|什么|哪里|哪个|哪儿|几点|多久|"
                             r"多少|能不能|可不可以|可以不|是不是|有没有|是否)")
# Sentence punctuation: a name has none of it.
_SENTENCE_MARKS = re.compile(r"[，。！？；：,!?;:、…~～\"“”'‘’【】《》]")
# What people put before their name: 我是张伟, 我叫张伟, 姓名：张伟, 联系人张伟.
_NAME_LEAD = re.compile(r"^(?:我是|我叫|本人|姓名是?|名字是?|联系人是?|叫)[:：\s]*")
# Words that make a sentence of what would otherwise pass as a short name.
_SENTENCE_WORDS = re.compile(r"(?:你好|您好|我们|你们|他们|不知道|没有|不是|公司|电话|手机|问题|一下|谢谢|好的|可以|"
                             r"什么|怎么|请|吧|啊|呀|了)")
_PRONOUNS = re.compile(r"[我你您他她它咱]")  # 我是张伟 is handled above; a pronoun left over means a sentence
_CJK = re.compile(r"[\u3400-\u9fff]")
_NAME_CHARS = re.compile(r"^[\u3400-\u9fffA-Za-z·•.\- ]+$")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .\-]*[A-Za-z.]$")
_DIGITS_ONLY = re.compile(r"^[\d\s\-+()（）]+$")
_USCC_SHAPE = re.compile(r"^[0-9A-Z]{18}$")
_COMPANY_SENTENCE_MARKS = re.compile(r"[，。！？；!?;…~～\"“”【】]")  # Co., Ltd. is a name
_COMPANY_SENTENCE_START = re.compile(r"^(?:我|你|他|她|这|那|帮|麻烦|请)")


def is_question(text: str) -> bool:
    """A question mark, a question particle at the end, or a question word at the start."""
    t = text.strip()
    return bool(_QUESTION_END.search(t) or _QUESTION_START.match(t))


def person_name(raw: str, max_chars: int) -> str:
    """The contact's name out of what was typed, or InvalidInput saying what it looks like instead."""
    text = raw.strip()
    if is_question(text):
        raise InvalidInput("not_a_name_question", value=text[:30])
    text = _NAME_LEAD.sub("", text).strip()
    if not text:
        raise InvalidInput("contact", max=max_chars)
    if _DIGITS_ONLY.match(text):
        raise InvalidInput("contact_is_number", value=text[:20])
    if any(ch.isdigit() for ch in text):
        raise InvalidInput("contact", max=max_chars)
    if _SENTENCE_MARKS.search(text) or not _NAME_CHARS.match(text):
        raise InvalidInput("not_a_name_sentence", value=text[:30])
    cjk = len(_CJK.findall(text))
    if cjk:
        # Chinese names are 2–4 characters, a few more with a title (张经理, 王女士) or a
        # transliterated name (阿卜杜·热合曼); anything longer is a sentence.
        if cjk == 1:
            raise InvalidInput("contact_too_short", value=text)
        if (cjk > 8 or (cjk > 3 and _SENTENCE_WORDS.search(text)) or _SENTENCE_WORDS.fullmatch(text)
                or _PRONOUNS.search(text)):
            raise InvalidInput("not_a_name_sentence", value=text[:30])
    elif not _LATIN_NAME.match(text) or len(text.split()) > 4:
        raise InvalidInput("not_a_name_sentence", value=text[:30])
    if len(text) > max_chars:
        raise InvalidInput("contact", max=max_chars)
    return text


def company_name(raw: str, max_chars: int) -> str:
    """A company's name, or InvalidInput saying what the text looks like instead."""
    text = raw.strip()
    if is_question(text):
        raise InvalidInput("not_a_company_question", value=text[:30])
    if _USCC_SHAPE.match(text.upper().replace(" ", "")):
        raise InvalidInput("company_is_code")
    if _DIGITS_ONLY.match(text):
        raise InvalidInput("company_is_number", value=text[:20])
    if _COMPANY_SENTENCE_MARKS.search(text) or _COMPANY_SENTENCE_START.match(text):
        raise InvalidInput("not_a_company_sentence", value=text[:30])
    if len(text) < 2 or len(text) > max_chars:
        raise InvalidInput("company_length", max=max_chars)
    return text


# A short report of a problem: something that stopped, broke, leaks or is blocked, or a penalty.
_PROBLEM_WORDS = re.compile(
    r"(?:停电|断电|没电|跳闸|停水|断水|没水|漏水|爆管|停气|断气|没气|断网|网断|没网|网络不通|信号|"
    r"坏了|坏掉|损坏|不亮|不通|堵了|堵住|堵塞|塌了|倒了|积水|淹了|漏了|"
    r"罚款|被罚|处罚|查封|拖欠|欠薪|欠款|不给钱|投诉|乱收费|噪音|污染|臭味|着火|火灾)")


def reads_like_problem(text: str) -> bool:
    """Short text naming a problem (停电了, 断网了, 路灯坏了, 被罚款了), not a question or a greeting."""
    t = text.strip()
    return bool(t) and len(t) <= 30 and bool(_PROBLEM_WORDS.search(t))
