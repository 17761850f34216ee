// The client against crmmock on R10: a token idle for more than an hour is
// TOKEN_EXPIRED, the client logs in again, and the mock's lint finds nothing wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCrmmock } from './crmmock.mjs';
import { CRMClient } from './crm-client.mjs';

let mock;
before(async () => { mock = await startCrmmock('--start', '2024-01-01T09:00:00Z'); });
after(async () => { await mock?.stop(); });

test('re-login after idle expiry on R10', async () => {
  await mock.admin.setVersion('R10');
  const client = new CRMClient(mock.apiURL, { username: 'mpadministrator', password: '1234', organisation: 'CRMDEMO' });
  const first = await client.login();
  assert.match(first, /^[0-9A-F]{32}$/); // R10: opaque, 32 uppercase hex
  await client.get('contact_information/show', { number: 'CI000111' });

  // R10's rule: one hour of idle time. 61 minutes later the token is dead: the server
  // answers TOKEN_EXPIRED and the client recovers with exactly one new login.
  await mock.admin.advance('61m');
  await client.get('contact_information/show', { number: 'CI000111' });
  assert.equal(client.expired, 1);
  assert.notEqual(client.token, first);
  const { requests } = await mock.admin.get('/requests');
  assert.deepEqual(requests.map((e) => e.code), ['OK', 'OK', 'TOKEN_EXPIRED', 'OK', 'OK']);
  await client.release();

  const { tokens } = await mock.admin.get('/tokens');
  assert.deepEqual(tokens.map((t) => t.state), ['expired', 'released']);

  // The mock's client lint: nothing wrong with this token handling.
  const lint = await mock.admin.get('/lint');
  assert.equal(lint.summary.error, 0, JSON.stringify(lint.findings));
});
