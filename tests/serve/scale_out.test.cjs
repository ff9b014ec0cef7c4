// Scale-out: two `vkgraph serve` replicas behind nginx with the repo's config
// (deploy/nginx/vkgraph.conf, its ports replaced by free ones). 64 requests spread over both;
// one replica is killed mid-run and nginx retries its requests on the other, so every request
// succeeds; each replica's /metrics shows its share.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const h = require('./harness.cjs');

const OpenAI = h.openai();
const TOTAL = 64;
const CONCURRENCY = 8;
const MAX_TOKENS = 32;
const KILL_AFTER = 16;  // completed requests before replica A is killed

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

function nginxBinary() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  throw new Error('nginx is missing: run scripts/setup.sh (Debian package nginx-light)');
}

const generated = (m) => m.vkgraph_generated_tokens_total ?? 0;
const served = (m) => m['vkgraph_http_responses_total{route="/v1/completions",code="200"}'] ?? 0;

test(`scale-out: ${TOTAL} requests over two replicas behind nginx, one killed mid-run`, async () => {
  const a = await h.startServer(['--parallel', '4', '-c', '256', '--backend', 'cpu']);
  const b = await h.startServer(['--parallel', '4', '-c', '256', '--backend', 'cpu']);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'vkgraph-nginx-'));
  let nginx = null;
  try {
    const port = await freePort();
    const source = path.join(__dirname, '..', '..', 'deploy', 'nginx', 'vkgraph.conf');
    const conf = fs.readFileSync(source, 'utf8')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`)
      .replaceAll('127.0.0.1:8081', `127.0.0.1:${a.port}`)
      .replaceAll('127.0.0.1:8082', `127.0.0.1:${b.port}`);
    assert.ok(conf.includes(`server 127.0.0.1:${a.port} `) && conf.includes(`server 127.0.0.1:${b.port} `) &&
              conf.includes(`listen 127.0.0.1:${port};`), 'the config names its replicas and port');
    fs.mkdirSync(path.join(prefix, 'logs'));
    fs.mkdirSync(path.join(prefix, 'tmp'));
    fs.chmodSync(path.join(prefix, 'tmp'), 0o777);  // nginx's workers run as another user under root
    fs.writeFileSync(path.join(prefix, 'nginx.conf'), conf);
    const user = os.userInfo().username;
    nginx = spawn(nginxBinary(), ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', `daemon off; user ${user};`],
                  { stdio: ['ignore', 'ignore', 'pipe'] });
    let nginxErr = '';
    nginx.stderr.on('data', (d) => { nginxErr += d; });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${url}/health`)).ok) break; } catch {}
      if (i >= 100) {
        const log = path.join(prefix, 'logs', 'error.log');
        assert.fail(`nginx did not start: ${nginxErr}${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`);
      }
      await h.sleep(100);
    }

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
    let next = 0;
    let completed = 0;
    let aBeforeKill = null;
    const errors = [];
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        try {
          const r = await client.completions.create({ model: 'stories260K', prompt: `Once upon a time ${i}`,
                                                      max_tokens: MAX_TOKENS, ignore_eos: true, seed: i });
          assert.equal(r.usage.completion_tokens, MAX_TOKENS);
        } catch (e) {
          errors.push(`request ${i}: ${e.message}`);
        }
        if (++completed === KILL_AFTER) {
          aBeforeKill = await h.metrics(a.url);  // A's share so far, read just before it dies
          a.child.kill('SIGKILL');
        }
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (performance.now() - start) / 1000;
    assert.deepEqual(errors, []);
    assert.deepEqual(await a.exitPromise, { code: null, signal: 'SIGKILL' });

    const bAfter = await h.metrics(b.url);
    const log = fs.readFileSync(path.join(prefix, 'logs', 'access.log'), 'utf8').split('\n')
      .filter((l) => l.includes('/v1/completions'));
    const retried = log.filter((l) => /upstream=\[[^\]]*, /.test(l));
    console.log(`scale-out: ${TOTAL} requests in ${seconds.toFixed(2)} s; replica A served ${served(aBeforeKill)} ` +
                `(${generated(aBeforeKill)} tokens) before it was killed, replica B ${served(bAfter)} ` +
                `(${generated(bAfter)} tokens); nginx retried ${retried.length} on the other replica`);
    assert.equal(log.length, TOTAL);
    assert.ok(log.every((l) => l.includes('" 200 ')), log.join('\n'));
    // Both replicas took part before the kill (least_conn spreads 8 clients over both)...
    assert.ok(served(aBeforeKill) > 0 && generated(aBeforeKill) > 0);
    assert.ok(served(bAfter) > 0);
    // ...A's requests in flight when it died were retried on B, and B finished the run.
    assert.ok(retried.length > 0, 'no request was retried');
    assert.equal(served(aBeforeKill) + served(bAfter) >= TOTAL - CONCURRENCY, true);
    assert.ok(served(bAfter) >= TOTAL - KILL_AFTER);
    assert.equal(bAfter.vkgraph_running_sequences, 0);
  } finally {
    if (nginx) {
      nginx.kill('SIGQUIT');  // graceful stop
      await new Promise((r) => { const t = setTimeout(() => { nginx.kill('SIGKILL'); r(); }, 5000); nginx.on('exit', () => { clearTimeout(t); r(); }); });
    }
    if (!a.exited) a.child.kill('SIGKILL');
    assert.equal((await h.stopServer(b)).code, 0, b.stderr);
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});
