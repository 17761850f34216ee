// Start a crmmock binary on a free port for a test, and talk to its control API.
// The binary is $CRMMOCK_BIN, else `crmmock` on PATH.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export async function startCrmmock(...args) {
  const bin = process.env.CRMMOCK_BIN || 'crmmock';
  const proc = spawn(bin, ['serve', '--addr', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: proc.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'), // "crmmock listening on http://127.0.0.1:PORT"
    once(proc, 'error').then(([err]) => { throw err; }),
    once(proc, 'exit').then(([code]) => { throw new Error(`crmmock exited with ${code}`); }),
  ]);
  const prefix = 'crmmock listening on ';
  if (!line.startsWith(prefix)) throw new Error(`unexpected first line: ${line}`);
  const url = line.slice(prefix.length).trim();

  const admin = adminCaller(url);
  return {
    url,
    apiURL: `${url}/crmapi/rest/v2`,
    admin: {
      get: (path) => admin('GET', path),
      advance: (duration) => admin('POST', '/clock/advance', { duration }),
      setVersion: (version) => admin('PUT', '/version', { version }),
    },
    async stop() {
      lines.close();
      proc.kill('SIGTERM');
      if (proc.exitCode === null) await once(proc, 'exit');
    },
  };
}

// adminCaller calls the control API of the crmmock at url (its root): admin(method, path,
// body) answers the decoded JSON, and throws with the control API's error otherwise.
export function adminCaller(url) {
  return async (method, path, body) => {
    const res = await fetch(`${url}/__admin${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} /__admin${path}: ${res.status} ${json.error}`);
    return json;
  };
}
