"""pytest fixture: a crmmock binary on a free port for each test.

The binary is $CRMMOCK_BIN, else `crmmock` on PATH (go install
github.com/crmmock/crmmock/cmd/crmmock@latest)."""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest


class Admin:
    """The control API (/__admin) of one running mock."""

    def __init__(self, url):
        self.url = url + "/__admin"

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:  # the control API names the problem in {"error": …}
            raise AssertionError(f"{method} /__admin{path}: {e.code} {json.load(e).get('error')}") from None

    def get(self, path):
        return self.call("GET", path)

    def advance(self, duration):
        return self.call("POST", "/clock/advance", {"duration": duration})

    def set_version(self, version):
        return self.call("PUT", "/version", {"version": version})


class Mock:
    def __init__(self, url):
        self.url = url
        self.api_url = url + "/crmapi/rest/v2"
        self.admin = Admin(url)


@pytest.fixture
def crmmock():
    binary = os.environ.get("CRMMOCK_BIN") or shutil.which("crmmock")
    if not binary:
        pytest.fail("crmmock not found: set CRMMOCK_BIN or put crmmock on PATH")
    proc = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", "--start", "2024-01-01T09:00:00Z"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()  # "crmmock listening on http://127.0.0.1:PORT"
        prefix = "crmmock listening on "
        assert line.startswith(prefix), f"unexpected first line: {line!r}"
        yield Mock(line[len(prefix):].strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
