// `vkgraph serve --lora` with the official OpenAI client: llama-server's per-request `lora` field
// chooses among the adapters loaded at start-up, requests with different choices run at the
// same time, and each request's greedy text equals `vkgraph run` with the same adapter and scale
// (the CLI applies adapters through the same session code, checked against llama.cpp's logits in
// tests/test_lora_reference.cpp).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFile } = require('node:child_process');
const execFileAsync = require('node:util').promisify(execFile);
const h = require('./harness.cjs');

const shared = path.join(__dirname, '..', '..', '..', 'shared', 'models');
const BASE = path.join(shared, 'stories260K.gguf');
const LORA = path.join(shared, 'stories260K-lora.gguf');
for (const f of [BASE, LORA]) {
  if (!fs.existsSync(f)) throw new Error(`${f} is missing (the shared test data, ../shared from the checkout)`);
}
const OpenAI = h.openai();
const PROMPT = 'Once upon a time';
const N = 16;

let server;
let client;
test.before(async () => {
  server = await h.startServer(['-m', BASE, '--lora', LORA, '--parallel', '3', '-c', '256']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});
test.after(async () => {
  const exit = await h.stopServer(server);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr);  // 0: no validation message either
});

// `vkgraph run`'s continuation of PROMPT with `loraArgs`, greedy. Asynchronous: a synchronous
// child would block the event loop past the server's keep-alive timeout, and the client's next
// request would go out on a connection the server has closed.
async function run(loraArgs) {
  const out = (await execFileAsync(h.cli, ['run', '-m', BASE, ...loraArgs, '-p', PROMPT, '-n', String(N), '--temp',
                                           '0', '--sinks', '0', '-c', '256'], { timeout: 60000 })).stdout;
  assert.ok(out.startsWith(PROMPT), out);
  return out.slice(PROMPT.length).replace(/\n$/, '');
}

test('lora: /lora-adapters lists the start-up adapters as llama-server does', async () => {
  const r = await fetch(`${server.url}/lora-adapters`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), [{ id: 0, path: LORA, scale: 1 }]);
});

test('lora: concurrent requests with different adapter choices each get what `vkgraph run` gives', async () => {
  const complete = (extra) => client.completions.create({ model: 'stories260K', prompt: PROMPT, max_tokens: N,
                                                          temperature: 0, ignore_eos: true, ...extra });
  // All three at once on three sessions: the start-up scale, another scale, the base alone.
  const [byDefault, doubled, none] = await Promise.all([
    complete({}), complete({ lora: [{ id: 0, scale: 2.0 }] }), complete({ lora: [] })]);
  const expected = { one: await run(['--lora', LORA]), two: await run(['--lora', `${LORA}:2`]), base: await run([]) };
  // The adapter changes this prompt's greedy text at both scales, so equal texts are not an accident.
  assert.notEqual(expected.one, expected.base);
  assert.notEqual(expected.two, expected.one);
  assert.equal(byDefault.choices[0].text, expected.one);
  assert.equal(doubled.choices[0].text, expected.two);
  assert.equal(none.choices[0].text, expected.base);
  // A chat request takes the field too (the same request fields after the template).
  const chat = await client.chat.completions.create({ model: 'stories260K', max_tokens: 4, temperature: 0,
                                                      messages: [{ role: 'user', content: 'hi' }],
                                                      lora: [{ id: 0, scale: 0 }] });
  assert.equal(typeof chat.choices[0].message.content, 'string');
});

test('lora: a bad choice is a 400 naming the field', async () => {
  const expectError = async (lora, param) => {
    await assert.rejects(client.completions.create({ model: 'stories260K', prompt: PROMPT, max_tokens: 2, lora }),
                         (e) => {
                           assert.equal(e.status, 400, e.message);
                           assert.equal(e.error.param, param);
                           assert.ok(e.error.message.includes(param.split('.')[0]), e.error.message);
                           return true;
                         });
  };
  await expectError([{ id: 1, scale: 1 }], 'lora');  // only id 0 is loaded
  await expectError([{ id: 0 }], 'lora[0].scale');
  await expectError([{ id: -1, scale: 1 }], 'lora[0].id');
  await expectError({ id: 0, scale: 1 }, 'lora');  // not a list
});
