// The client of examples/node against crmmock's container, started by the testcontainers
// package: on R10 a token idle for more than an hour is TOKEN_EXPIRED, the client logs
// in again once, and the mock's lint finds nothing wrong. The image is $CRMMOCK_IMAGE,
// else crmmock:dev (`make image`); Docker is found as Testcontainers always finds it
// (DOCKER_HOST; `make testcontainers` points it at podman's socket).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GenericContainer, Wait } from 'testcontainers';
import { CRMClient } from '../node/crm-client.mjs';
import { adminCaller } from '../node/crmmock.mjs';

let container;
let url;
before(async () => {
  container = await new GenericContainer(process.env.CRMMOCK_IMAGE || 'crmmock:dev')
    .withCommand(['serve', '--version', 'R10', '--start', '2024-01-01T09:00:00Z'])
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/__admin/health', 8080))
    .start();
  url = `http://${container.getHost()}:${container.getMappedPort(8080)}`;
});
after(async () => { await container?.stop(); });

const admin = (method, path, body) => adminCaller(url)(method, path, body);

test('re-login after idle expiry on R10, in a container', async () => {
  const client = new CRMClient(`${url}/crmapi/rest/v2`, { username: 'mpadministrator', password: '1234', organisation: 'CRMDEMO' });
  const first = await client.login();
  assert.match(first, /^[0-9A-F]{32}$/); // F6: R10 issues opaque tokens, 32 uppercase hex
  await client.get('contact_information/show', { number: 'CI000111' });

  // F6: one hour of idle time. 61 minutes on the mock's clock later the token is dead:
  // the server answers TOKEN_EXPIRED and the client recovers with exactly one new login.
  await admin('POST', '/clock/advance', { duration: '61m' });
  await client.get('contact_information/show', { number: 'CI000111' });
  assert.equal(client.expired, 1);
  assert.notEqual(client.token, first);
  const { requests } = await admin('GET', '/requests');
  assert.deepEqual(requests.map((e) => e.code), ['OK', 'OK', 'TOKEN_EXPIRED', 'OK', 'OK']);

  const lint = await admin('GET', '/lint');
  assert.equal(lint.summary.error, 0, JSON.stringify(lint.findings));
});
