"""The client against crmmock on R10: a token idle for more than an hour is
TOKEN_EXPIRED, the client logs in again, and the mock's lint finds nothing wrong."""

from crm_client import CRMClient


def test_relogin_after_idle_expiry(crmmock):
    crmmock.admin.set_version("R10")
    client = CRMClient(crmmock.api_url, "mpadministrator", "1234", "CRMDEMO")
    first = client.login()
    assert len(first) == 32  # R10: opaque, 32 uppercase hex
    client.get("contact_information/show", number="CI000111")

    # R10's rule: one hour of idle time. 61 minutes later the token is dead: the server
    # answers TOKEN_EXPIRED and the client recovers with exactly one new login.
    crmmock.admin.advance("61m")
    client.get("contact_information/show", number="CI000111")
    assert client.expired == 1
    assert client.token != first
    journal = crmmock.admin.get("/requests")["requests"]
    assert [e["code"] for e in journal] == ["OK", "OK", "TOKEN_EXPIRED", "OK", "OK"]
    client.release()

    tokens = crmmock.admin.get("/tokens")["tokens"]
    assert [t["state"] for t in tokens] == ["expired", "released"]

    # The mock's client lint: nothing wrong with this token handling.
    lint = crmmock.admin.get("/lint")
    assert lint["summary"]["error"] == 0, lint["findings"]
