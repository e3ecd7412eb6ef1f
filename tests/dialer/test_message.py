import pytest

from voicebridge.dialer.sip.message import (
    NameAddr,
    SipRequest,
    SipResponse,
    SipUri,
    Via,
    build_response,
    parse_cseq,
    parse_message,
    split_list,
)

INVITE = (
    b"INVITE sip:+8613800000000@10.0.0.1:5060 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKabc;rport\r\n"
    b"Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKp1, SIP/2.0/UDP p2;branch=z9hG4bKp2\r\n"
    b"Max-Forwards: 70\r\n"
    b'f: "Tenant" <sip:+861012345678@example.com>;tag=1928\r\n'
    b"t: <sip:+8613800000000@10.0.0.1>\r\n"
    b"i: a84b4c76e66710@10.0.0.2\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Subject: folded\r\n  line\r\n"
    b"c: application/sdp\r\n"
    b"l: 4\r\n"
    b"\r\n"
    b"v=0\r\nEXTRA"
)


def test_parse_request_expands_compact_forms_and_cuts_body() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, SipRequest)
    assert msg.method == "INVITE"
    assert msg.uri == "sip:+8613800000000@10.0.0.1:5060"
    assert msg.headers["Call-ID"] == "a84b4c76e66710@10.0.0.2"
    assert msg.headers.get("call-id") == "a84b4c76e66710@10.0.0.2"
    assert msg.headers["Subject"] == "folded line"
    assert msg.body == b"v=0\r"
    assert len(msg.headers.get_all("Via")) == 3
    assert Via.parse(msg.headers.get_all("Via")[0]).branch == "z9hG4bKabc"


def test_round_trip_is_stable() -> None:
    msg = parse_message(INVITE)
    again = parse_message(bytes(msg))
    assert bytes(again) == bytes(msg)
    assert b"Content-Length: 4\r\n\r\nv=0\r" in bytes(msg)


def test_parse_response() -> None:
    data = b"SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    msg = SipResponse.parse(data)
    assert (msg.code, msg.reason) == (486, "Busy Here")
    assert parse_cseq(msg.headers["CSeq"]) == (1, "INVITE")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"INVITE sip:a SIP/2.0\r\nVia: x\r\n", "no end of headers"),
        (b"SIP/2.0 99 Low\r\n\r\n", "bad status code: '99'"),
        (b"INVITE sip:a SIP/3.0\r\n\r\n", "bad request line: 'INVITE sip:a SIP/3.0'"),
        (b"BYE sip:a SIP/2.0\r\nNoColon\r\n\r\n", "bad header line: 'NoColon'"),
        (b"BYE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nabc", "body shorter than Content-Length"),
        (b"BYE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n", "bad Content-Length: 'x'"),
    ],
)
def test_parse_errors_are_exact(data: bytes, error: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_message(data)
    assert str(exc.value) == error


def test_name_addr_uri_and_lists() -> None:
    na = NameAddr.parse('"Zhang San" <sip:+86138@ex.com;user=phone>;tag=abc;x')
    assert (na.display, na.uri, na.tag) == ("Zhang San", "sip:+86138@ex.com;user=phone", "abc")
    assert str(na) == '"Zhang San" <sip:+86138@ex.com;user=phone>;tag=abc;x'
    uri = SipUri.parse("sip:+86138:pw@10.0.0.1:5070;transport=udp")
    assert (uri.user, uri.host, uri.port, uri.params) == ("+86138", "10.0.0.1", 5070, {"transport": "udp"})
    assert split_list('<sip:a;lr>, "x,y" <sip:b>') == ["<sip:a;lr>", '"x,y" <sip:b>']
    with pytest.raises(ValueError, match="bad SIP URI"):
        SipUri.parse("http://x")


def test_build_response_copies_headers_and_fills_rport() -> None:
    req = SipRequest.parse(INVITE)
    resp = build_response(req, 180, to_tag="t1", received=("192.0.2.9", 40000))
    vias = resp.headers.get_all("Via")
    assert vias[0] == "SIP/2.0/UDP 10.0.0.2:5062;branch=z9hG4bKabc;rport=40000;received=192.0.2.9"
    assert len(vias) == 3
    assert resp.headers["To"] == "<sip:+8613800000000@10.0.0.1>;tag=t1"
    assert resp.headers["CSeq"] == "314159 INVITE"
    assert bytes(resp).startswith(b"SIP/2.0 180 Ringing\r\n")
