import pytest

from voicebridge.dialer.sip.digest import Challenge, authorization, compute_response, parse_params, verify

RFC7616 = dict(
    username="Mufasa",
    realm="http-auth@example.org",
    password="Circle of Life",
    method="GET",
    uri="/dir/index.html",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    qop="auth",
    nc="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


def test_rfc7616_md5_vector() -> None:
    assert compute_response(algorithm="MD5", **RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc7616_sha256_vector() -> None:
    assert (
        compute_response(algorithm="SHA-256", **RFC7616)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_rfc2617_vector() -> None:
    assert (
        compute_response(
            algorithm="MD5", username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
            method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth",
            nc="00000001", cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_challenge_parse_and_authorization_verifies() -> None:
    ch = Challenge.parse('Digest realm="sip.example", nonce="abc,def", qop="auth,auth-int", algorithm=SHA-256, opaque="o1"')
    assert (ch.realm, ch.nonce, ch.algorithm, ch.qop, ch.opaque) == ("sip.example", "abc,def", "SHA-256", ("auth", "auth-int"), "o1")
    value = authorization(ch, username="u", password="p", method="INVITE", uri="sip:1@h", cnonce="cn")
    params = parse_params(value.removeprefix("Digest "))
    assert params["qop"] == "auth" and params["nc"] == "00000001" and params["opaque"] == "o1"
    assert verify(value, method="INVITE", password="p", realm="sip.example")
    assert not verify(value, method="INVITE", password="wrong")
    assert not verify(value, method="BYE", password="p")


def test_no_qop_challenge() -> None:
    ch = Challenge.parse('Digest realm="r", nonce="n"')
    value = authorization(ch, username="u", password="p", method="INVITE", uri="sip:x")
    assert "qop" not in value and verify(value, method="INVITE", password="p")


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ('Basic realm="x"', "unsupported auth scheme: 'Basic'"),
        ('Digest realm="x"', "challenge without nonce"),
        ('Digest nonce="n", algorithm=SHA-512-256', "unsupported digest algorithm: 'SHA-512-256'"),
    ],
)
def test_bad_challenges(header: str, error: str) -> None:
    with pytest.raises(ValueError) as exc:
        Challenge.parse(header)
    assert str(exc.value) == error
