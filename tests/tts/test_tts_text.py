"""Templates, clean-up and the Mandarin front end on tables of inputs."""

from __future__ import annotations

import pytest

from voicebridge.tts import prompt_text, spoken_text, validate_template
from voicebridge.tts.cleanup import clean_text
from voicebridge.tts.frontend_en import to_spoken_en
from voicebridge.tts.frontend_zh import to_spoken_zh
from voicebridge.tts.templates import MAX_TEMPLATE_BYTES, VARIABLE_CAPS, normalize_language, truncate_text

SAMPLE_ZH = '张三给你发来一条消息"这是一条测试消息",请登录WeLink查看,重听请按1,结束请挂机'


def test_zh_template_is_the_product_sentence() -> None:
    assert prompt_text("张三", "这是一条测试消息") == SAMPLE_ZH


def test_en_template_has_the_same_parts() -> None:
    text = prompt_text("Zhang San", "This is a test message", "en")
    assert text == (
        'Zhang San sent you a message: "This is a test message". Please log in to WeLink to read it. '
        "To hear it again, press 1. To end, hang up."
    )


def test_tenant_template_override() -> None:
    assert prompt_text("李四", "开会", template="{sender}提醒你:{text}。打开{app}") == "李四提醒你:开会。打开WeLink"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{sender} says {txt}", "unknown placeholder {txt}"),
        ("{sender} says", "must contain {text}"),
        ("{text} {}", "empty placeholder"),
        ("{text} {0}", "unknown placeholder {0}"),
        ("{text!r}", "format spec or conversion"),
        ("{text:>10}", "format spec or conversion"),
        ("{text", "unbalanced braces"),
        ("", "template is empty"),
        ("{text}" + "字" * 300, f"the limit is {MAX_TEMPLATE_BYTES}"),
    ],
)
def test_validate_template_errors(template: str, fragment: str) -> None:
    errors = validate_template(template)
    assert any(fragment in e for e in errors), errors
    with pytest.raises(ValueError, match="invalid template"):
        prompt_text("a", "b", template=template)


def test_valid_template_has_no_errors() -> None:
    assert validate_template("{sender}给你发来{text},请登录{app}") == []
    assert validate_template("字" * 298 + "{text}") == []  # 894 + 6 bytes = 900


def test_long_message_cut_at_sentence_with_ellipsis() -> None:
    msg = "明天上午九点开会。请准时参加。" * 30
    out = truncate_text(msg, VARIABLE_CAPS["text"])
    assert len(out) <= VARIABLE_CAPS["text"]
    assert out.endswith("。…")


def test_long_english_message_cut_at_word() -> None:
    msg = "word " * 100
    out = truncate_text(msg.strip(), 23)
    assert out == "word word word word…"


def test_unbroken_text_cut_hard() -> None:
    assert truncate_text("一" * 50, 10) == "一" * 9 + "…"


def test_variables_capped_in_prompt() -> None:
    text = prompt_text("名" * 100, "消息", app="应" * 100)
    assert "名" * VARIABLE_CAPS["sender"] not in text
    assert "名" * (VARIABLE_CAPS["sender"] - 1) + "…" in text


def test_languages() -> None:
    assert normalize_language("zh") == "zh-CN"
    assert normalize_language("en-US") == "en"
    with pytest.raises(ValueError, match="unsupported language"):
        normalize_language("fr")


@pytest.mark.parametrize(
    ("raw", "lang", "expected"),
    [
        ("hi\x00\x07 there", "en", "hi there"),
        ("好😀👍🏽的", "zh-CN", "好的"),
        ("家👨\u200d👩\u200d👧人", "zh-CN", "家人"),
        ("见https://x.cn/a?b=1查看", "zh-CN", "见 链接 查看"),
        ("see https://example.com/a, ok", "en", "see a link, ok"),
        ("www.example.com", "en", "a link"),
        ("@张三 你好", "zh-CN", "张三 你好"),
        ("mail a@b.com.", "en", "mail an email address."),
        ("a \t\n  b", "en", "a b"),
        ("𠀀字", "zh-CN", "字"),
        ("ＡＢＣ１２３", "en", "ABC123"),
    ],
)
def test_clean_text(raw: str, lang: str, expected: str) -> None:
    assert clean_text(raw, lang) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # numbers (cn2an), digit runs, decimals, percentages, dates, times
        ("请按1", "请按一"),
        ("第12名", "第十二名"),
        ("共105人", "共一百零五人"),
        ("共1,234人", "共一千二百三十四人"),
        ("余额3.5元", "余额三点五元"),
        ("增长50%", "增长百分之五十"),
        ("1.5%", "百分之一点五"),
        ("2024年3月5日", "二零二四年三月五日"),
        ("会议10:30开始", "会议十点三十分开始"),
        ("-5度", "负五度"),
        ("3-5天", "三到五天"),
        # phone numbers and codes: digit by digit, 1 as 幺
        ("拨打10086", "拨打幺零零八六"),
        ("电话13800138000", "电话幺三八零零幺三八零零零"),
        ("010-12345678", "零幺零 幺二三四五六七八"),
        ("验证码0123", "验证码零幺二三"),
        # polyphones, applied last as tone-numbered pinyin
        ("重听请按1", "chong2ting1 请按一"),
        ("去银行办事", "去 yin2hang2 办事"),
        ("重新登录", "chong2xin1 登录"),
        ("音乐", "yin1yue4"),
        # symbols
        ("按#号键", "按井号键"),
        ("按*键", "按星号键"),
        ("A&B", "A和B"),
        # brands and acronyms
        ("请登录WeLink查看", "请登录 wei1 link 查看"),
        ("用welink", "用 wei1 link"),
        ("连WiFi", "连 wai1 fai1"),
        ("打开App", "打开 A P P"),
        ("ID号", "I D 号"),
        # non-BMP dropped
        ("好𠀀字😀", "好字"),
    ],
)
def test_frontend_zh(raw: str, expected: str) -> None:
    assert to_spoken_zh(raw) == expected


def test_sample_sentence_spoken_form() -> None:
    assert spoken_text(SAMPLE_ZH, "zh-CN") == (
        '张三给你发来一条消息"这是一条测试消息",请登录 wei1 link 查看, chong2ting1 请按一,结束请挂机'
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("press # to end", "press pound to end"),
        ("press *", "press star"),
        ("call 13800138000", "call 1 3 8 0 0 1 3 8 0 0 0"),
        ("about 1,250 people", "about 1,250 people"),
    ],
)
def test_frontend_en(raw: str, expected: str) -> None:
    assert to_spoken_en(raw) == expected
