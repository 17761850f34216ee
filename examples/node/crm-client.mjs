// A tiny CRM.COM Web API client: logs in once, reuses its token, and logs in again
// when the server answers TOKEN_EXPIRED (never retrying the dead token).

export class CRMError extends Error {
  constructor(status) {
    super(`${status.code}: ${status.message ?? ''}`);
    this.code = status.code;
  }
}

export class CRMClient {
  constructor(apiURL, { username, password, organisation }) {
    this.apiURL = apiURL.replace(/\/$/, '');
    this.credentials = { username, password, organisation };
    this.token = null;
    this.expired = 0; // how often the server said TOKEN_EXPIRED (each followed by one login)
  }

  async #call(method, path, { query, body } = {}) {
    const url = new URL(`${this.apiURL}/${path}`);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await res.json();
    // Errors come back as HTTP 200 with a non-OK status.code.
    if (answer.status.code !== 'OK') throw new CRMError(answer.status);
    return answer.data;
  }

  async login() {
    this.token = (await this.#call('POST', 'authentication/token', { body: this.credentials })).token;
    return this.token;
  }

  // GET a Web API method with the token in the query; one new login on TOKEN_EXPIRED.
  async get(path, params = {}) {
    if (!this.token) await this.login();
    try {
      return await this.#call('GET', path, { query: { ...params, token: this.token } });
    } catch (e) {
      if (!(e instanceof CRMError) || e.code !== 'TOKEN_EXPIRED') throw e;
      this.expired++;
      await this.login();
      return this.#call('GET', path, { query: { ...params, token: this.token } });
    }
  }

  // Release the token (R10, R11): the server forgets it.
  async release() {
    if (!this.token) return;
    await this.#call('POST', 'authentication/token/release', { body: { token: this.token } });
    this.token = null;
  }
}
