// Starts and stops `vkgraph serve` processes for the server tests, on 127.0.0.1 only, each
// bounded in time and always stopped (a test that fails still kills what it started).
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const cli = process.env.VKGRAPH_CLI;
const nodeModules = process.env.VKGRAPH_NODE_MODULES;
if (!cli) throw new Error('VKGRAPH_CLI is not set (ctest sets it to the built vkgraph program)');

// The official OpenAI client, installed by scripts/setup.sh into a cache (.deps/node_modules).
function openai() {
  const where = path.join(nodeModules || '', 'openai');
  if (!nodeModules || !fs.existsSync(where)) {
    throw new Error(`the openai npm package is missing at ${where}: run scripts/setup.sh`);
  }
  return require(where);
}

const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch {} } });

// Starts a server; resolves when /health answers. `args` are extra command-line arguments.
async function startServer(args = [], { timeoutMs = 60000, env = {} } = {}) {
  const child = spawn(cli, ['serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  const server = { child, stderr: '', port: 0, exited: null };
  server.exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => {
    live.delete(child);
    server.exited = { code, signal };
    resolve(server.exited);
  }));
  child.stderr.on('data', (d) => { server.stderr += d.toString(); });
  const deadline = Date.now() + timeoutMs;
  while (!server.port) {
    const m = /on http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(server.stderr);
    if (m) server.port = Number(m[1]);
    if (server.exited) throw new Error(`vkgraph serve exited early (${JSON.stringify(server.exited)}):\n${server.stderr}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`vkgraph serve did not start:\n${server.stderr}`); }
    await sleep(50);
  }
  server.url = `http://127.0.0.1:${server.port}`;
  for (;;) {
    try { if ((await fetch(`${server.url}/health`)).ok) break; } catch {}
    if (Date.now() > deadline) throw new Error(`no /health answer:\n${server.stderr}`);
    await sleep(50);
  }
  return server;
}

// SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves to its exit.
async function stopServer(server, graceMs = 20000) {
  if (server.exited) return server.exited;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  const exit = await server.exitPromise;
  clearTimeout(timer);
  return exit;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// The Prometheus text as {name{labels}: value}.
async function metrics(url, headers = {}) {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const values = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    values[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return values;
}

// Polls until `check(metrics)` holds or `timeoutMs` passes; returns the last metrics.
async function waitForMetrics(url, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let m;
  do {
    m = await metrics(url);
    if (check(m)) return m;
    await sleep(100);
  } while (Date.now() < deadline);
  return m;
}

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

function curl(args, input) {
  // -s: quiet; -w: the status code on the last line. Bounded by --max-time.
  const out = execFileSync('curl', ['-s', '--max-time', '30', '-w', '\n%{http_code}', ...args],
                           { input, maxBuffer: 64 << 20 }).toString();
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

module.exports = { openai, startServer, stopServer, sleep, metrics, waitForMetrics, rssKiB, curl, percentile, cli };
