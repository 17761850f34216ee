"""A tiny CRM.COM Web API client: the kind of code an integrator writes, and tests
against crmmock. It logs in once, reuses its token, and logs in again when the server
answers TOKEN_EXPIRED (never retrying the dead token)."""

import json
import urllib.parse
import urllib.request


class CRMError(Exception):
    def __init__(self, status):
        super().__init__(f"{status['code']}: {status.get('message') or ''}")
        self.code = status["code"]


class CRMClient:
    def __init__(self, api_url, username, password, organisation):
        self.api_url = api_url.rstrip("/")
        self.credentials = {"username": username, "password": password, "organisation": organisation}
        self.token = None
        self.expired = 0  # how often the server said TOKEN_EXPIRED (each followed by one login)

    def _call(self, method, path, query=None, body=None):
        url = f"{self.api_url}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.load(resp)
        if answer["status"]["code"] != "OK":  # errors come back as HTTP 200 with a non-OK code
            raise CRMError(answer["status"])
        return answer["data"]

    def login(self):
        self.token = self._call("POST", "authentication/token", body=self.credentials)["token"]
        return self.token

    def get(self, path, **params):
        """GET a Web API method with the token in the query; one new login on TOKEN_EXPIRED."""
        if self.token is None:
            self.login()
        try:
            return self._call("GET", path, query={**params, "token": self.token})
        except CRMError as e:
            if e.code != "TOKEN_EXPIRED":
                raise
            self.expired += 1
            self.login()
            return self._call("GET", path, query={**params, "token": self.token})

    def release(self):
        """Release the token (R10, R11): the server forgets it."""
        if self.token is not None:
            self._call("POST", "authentication/token/release", body={"token": self.token})
            self.token = None
