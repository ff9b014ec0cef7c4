// `vkgraph serve` against the official OpenAI client (npm `openai`) and curl: chat, streaming,
// completions, models, embeddings, stop sequences, usage, and the error shapes; then the
// faults: API keys, the queue limit, a storm of disconnecting clients, and SIGTERM's drain.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const execFileAsync = require('node:util').promisify(execFile);
const h = require('./harness.cjs');

const OpenAI = h.openai();
const MODEL = 'stories260K';
const PROMPT = 'Once upon a time';

let server;
let client;
test.before(async () => {
  // The batched engine (the default is the session engine): its KV blocks and prefix cache are
  // checked through /metrics and usage below.
  server = await h.startServer(['--engine', 'batched', '--parallel', '4', '-c', '512']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});
test.after(async () => {
  const exit = await h.stopServer(server);
  // 0 also says the validation layer (VKGRAPH_VALIDATION=1) reported nothing.
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr);
});

test('models: the served model is listed and retrievable', async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m.id);
  assert.deepEqual(models, [MODEL]);
  assert.equal((await client.models.retrieve(MODEL)).id, MODEL);
});

test('completions: greedy text equals `vkgraph run` on the same prompt', async () => {
  // The CLI runs asynchronously: execFileSync would block the event loop, and a kept-alive
  // connection that the server closed meanwhile (its keep-alive timeout is 2 s) would then be
  // reused before its close is seen: a connection error on a loaded machine.
  const run = (await execFileAsync(h.cli, ['run', '-p', PROMPT, '-n', '20', '--temp', '0', '--sinks', '0', '-c', '512'],
                                   { timeout: 60000 })).stdout;
  // Token ids as the prompt give the same text (`vkgraph tokenize` leaves out BOS, which is 1).
  const ids = (await execFileAsync(h.cli, ['tokenize', PROMPT], { timeout: 30000 })).stdout.match(/\d+/g).map(Number);
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 20, temperature: 0 });
  assert.equal(PROMPT + r.choices[0].text + '\n', run);
  assert.ok(r.id.startsWith('cmpl-'));
  assert.equal(r.object, 'text_completion');
  assert.equal(r.usage.completion_tokens, 20);
  assert.equal(r.usage.prompt_tokens, 5);  // BOS + 4 tokens of stories260K's vocabulary
  assert.equal(r.usage.total_tokens, 25);
  assert.equal(r.choices[0].finish_reason, 'length');
  const byIds = await client.completions.create({ model: MODEL, prompt: [1, ...ids], max_tokens: 20, temperature: 0 });
  assert.equal(byIds.choices[0].text, r.choices[0].text);
});

test('chat: streamed deltas add up to the whole answer, usage in the last chunk', async () => {
  const request = { model: MODEL, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 24,
                    temperature: 0.8, seed: 7 };
  const whole = await client.chat.completions.create(request);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.ok(whole.choices[0].message.content.length > 0);
  assert.equal(whole.usage.completion_tokens, 24);

  const stream = await client.chat.completions.create({ ...request, stream: true,
                                                        stream_options: { include_usage: true } });
  let text = '';
  let role = null;
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, whole.choices[0].message.content);  // the same seed, the same tokens
  assert.equal(finish, 'length');
  assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [whole.usage.prompt_tokens, 24]);
  assert.ok(chunks > 3);
});

test('stop: a stop sequence ends the text before it, also when streamed', async () => {
  const base = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 40, temperature: 0 });
  const text = base.choices[0].text;
  // A stop sequence from the middle of the greedy text, spanning a word boundary.
  const at = text.indexOf(' ', 12);
  assert.ok(at > 0, text);
  const stop = text.slice(at - 2, at + 3);
  const cut = text.slice(0, text.indexOf(stop));
  const r = await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 40, temperature: 0,
                                              stop: [stop, 'never appears'] });
  assert.equal(r.choices[0].text, cut);
  assert.equal(r.choices[0].finish_reason, 'stop');
  let streamed = '';
  for await (const chunk of await client.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: 40,
                                                              temperature: 0, stop, stream: true })) {
    streamed += chunk.choices.map((c) => c.text).join('');
  }
  assert.equal(streamed, cut);
});

test('embeddings: unit vectors of the model width, base64 and float agree', async () => {
  const r = await client.embeddings.create({ model: MODEL, input: ['The cat sat on the mat.', 'Once upon a time'] });
  assert.equal(r.data.length, 2);
  for (const d of r.data) {
    assert.equal(d.embedding.length, 64);
    const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);  // float32 rounding of 64 squares
  }
  const asFloats = h.curl(['-H', 'Content-Type: application/json', '-d',
                           JSON.stringify({ input: 'The cat sat on the mat.', encoding_format: 'float' }),
                           `${server.url}/v1/embeddings`]);
  assert.equal(asFloats.status, 200);
  const floats = JSON.parse(asFloats.body).data[0].embedding;
  // base64 carries the float32 bits exactly; JSON prints them to float32 precision.
  floats.forEach((x, i) => assert.ok(Math.abs(x - r.data[0].embedding[i]) < 1e-6));
});

test('errors: the OpenAI client sees status, type, param and code', async () => {
  const expectError = async (promise, status, param, code) => {
    await assert.rejects(promise, (e) => {
      assert.equal(e.status, status, e.message);
      assert.equal(e.error.param ?? null, param);
      assert.equal(e.error.code, code);
      assert.ok(e.error.message.length > 0);
      return true;
    });
  };
  const messages = [{ role: 'user', content: 'hi' }];
  await expectError(client.chat.completions.create({ model: MODEL, messages, n: 2 }), 400, 'n', 'invalid_value');
  await expectError(client.chat.completions.create({ model: MODEL, messages, temperature: 'hot' }), 400,
                    'temperature', 'invalid_type');
  await expectError(client.chat.completions.create({ model: 'gpt-4o', messages }), 404, 'model', 'model_not_found');
  await expectError(client.completions.create({ model: MODEL, prompt: 'word '.repeat(600) }), 400, 'prompt',
                    'context_length_exceeded');
  await expectError(client.completions.create({ model: MODEL, prompt: [1, 99999] }), 400, 'prompt', 'invalid_value');
});

test('errors with curl: malformed JSON, bad UTF-8, a body too large, unknown route', () => {
  const post = (body, route = '/v1/chat/completions') =>
    h.curl(['-H', 'Content-Type: application/json', '--data-binary', '@-', `${server.url}${route}`], body);
  const malformed = post('{"messages": [');
  assert.equal(malformed.status, 400);
  assert.equal(JSON.parse(malformed.body).error.code, 'invalid_json');
  const utf8 = post(Buffer.from('{"messages":[{"role":"user","content":"caf\xc3\x28"}]}', 'latin1'));
  assert.equal(utf8.status, 400);
  assert.equal(JSON.parse(utf8.body).error.code, 'invalid_utf8');
  const big = post(`{"prompt": "${'x'.repeat(9 << 20)}"}`, '/v1/completions');
  assert.equal(big.status, 413);
  assert.equal(JSON.parse(big.body).error.code, 'request_too_large');
  const unknown = h.curl([`${server.url}/v1/nothing`]);
  assert.equal(unknown.status, 404);
  assert.equal(JSON.parse(unknown.body).error.type, 'invalid_request_error');
  // A stream with curl: events end with [DONE].
  const sse = post(JSON.stringify({ prompt: PROMPT, max_tokens: 5, stream: true }), '/v1/completions');
  assert.equal(sse.status, 200);
  assert.match(sse.body, /^data: \{/);
  assert.ok(sse.body.endsWith('data: [DONE]\n\n'));
  assert.deepEqual(JSON.parse(h.curl([`${server.url}/health`]).body), { status: 'ok' });
});

test('metrics: Prometheus text with the engine and HTTP counters', async () => {
  const m = await h.metrics(server.url);
  assert.ok(m['vkgraph_http_responses_total{route="/v1/completions",code="200"}'] >= 5);
  assert.ok(m['vkgraph_http_responses_total{route="/v1/chat/completions",code="400"}'] >= 2);
  assert.ok(m.vkgraph_generated_tokens_total > 100);
  assert.ok(m.vkgraph_step_seconds_count > 0);
  assert.equal(m.vkgraph_running_sequences, 0);
  assert.equal(m.vkgraph_queue_depth, 0);
  assert.equal(m.vkgraph_kv_blocks_used, 0);
  assert.equal(m.vkgraph_kv_blocks_free, 4 * 512 / 16);  // --parallel x -c in blocks of 16
});

test('prefix cache: a repeated long prompt is served from cached blocks, and /metrics counts them', async () => {
  // 300 token ids (BOS first): 18 full blocks of 16 before the last token.
  const prompt = [1, ...Array.from({ length: 299 }, (_, i) => 2 + (i * 37) % 500)];
  const before = (await h.metrics(server.url)).vkgraph_prefix_cache_hit_tokens_total;
  const first = await client.completions.create({ model: MODEL, prompt, max_tokens: 4, temperature: 0 });
  const second = await client.completions.create({ model: MODEL, prompt, max_tokens: 4, temperature: 0 });
  assert.equal(second.usage.prompt_tokens_details.cached_tokens, 288);
  assert.equal(second.choices[0].text, first.choices[0].text);
  const after = (await h.metrics(server.url)).vkgraph_prefix_cache_hit_tokens_total;
  assert.ok(after - before >= 288, `prefix cache hits went from ${before} to ${after}`);
});

test('auth: a missing or wrong key is 401, the right one passes, /health is open', async () => {
  const s = await h.startServer(['--api-key', 'sk-test-123', '--backend', 'cpu']);
  try {
    const good = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-123', maxRetries: 0 });
    const bad = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'sk-test-124', maxRetries: 0 });
    assert.equal((await good.completions.create({ prompt: PROMPT, max_tokens: 2 })).usage.completion_tokens, 2);
    await assert.rejects(bad.models.list(), (e) => e.status === 401 && e.error.code === 'invalid_api_key');
    const none = h.curl([`${s.url}/v1/models`]);
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.body).error.code, 'missing_api_key');
    assert.equal(h.curl([`${s.url}/health`]).status, 200);
    assert.equal(h.curl(['-H', 'Authorization: Bearer sk-test-123', `${s.url}/metrics`]).status, 200);
  } finally {
    assert.equal((await h.stopServer(s)).code, 0, s.stderr);
  }
});

// A streamed request that runs until cancelled, for the fault tests.
function longStream(url, extra = {}) {
  return fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, max_tokens: 400, ignore_eos: true, stream: true, ...extra }),
  });
}

test('queue full: 429 with Retry-After, then the queue drains', async () => {
  const s = await h.startServer(['--parallel', '1', '--queue', '0', '--backend', 'cpu']);
  try {
    const first = await longStream(s.url);
    const reader = first.body.getReader();
    await reader.read();  // running now
    const second = h.curl(['-H', 'Content-Type: application/json', '-D', '-', '-d',
                           JSON.stringify({ prompt: PROMPT, max_tokens: 2 }), `${s.url}/v1/completions`]);
    assert.equal(second.status, 429);
    assert.match(second.body, /Retry-After: \d+/i);
    assert.match(second.body, /"code":"queue_full"/);
    await reader.cancel();
    const m = await h.waitForMetrics(s.url, (x) => x.vkgraph_running_sequences === 0);
    assert.equal(m.vkgraph_running_sequences, 0);
  } finally {
    assert.equal((await h.stopServer(s)).code, 0, s.stderr);
  }
});

test('disconnect storm: clients that leave mid-stream free their sequences', async () => {
  const s = await h.startServer(['--parallel', '4', '--queue', '64', '--backend', 'cpu']);
  try {
    const storm = Array.from({ length: 24 }, async (_, i) => {
      const controller = new AbortController();
      const res = await longStream(s.url, { seed: i }).catch(() => null);
      if (!res) return;
      const reader = res.body.getReader();
      await reader.read().catch(() => {});  // the first event (or a wait comment), then leave
      controller.abort();
      await reader.cancel().catch(() => {});
    });
    await Promise.all(storm);
    const m = await h.waitForMetrics(s.url, (x) => x.vkgraph_running_sequences === 0 && x.vkgraph_queue_depth === 0);
    assert.equal(m.vkgraph_running_sequences, 0);
    assert.equal(m.vkgraph_queue_depth, 0);
    assert.equal(m.vkgraph_kv_blocks_used, 0);
    assert.equal(m['vkgraph_requests_finished_total{reason="cancelled"}'], 24);
    // 400 tokens each would be 9600; leaving stopped them far earlier.
    assert.ok(m.vkgraph_generated_tokens_total < 24 * 400, `${m.vkgraph_generated_tokens_total} tokens`);
    // The server still answers.
    const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: PROMPT, max_tokens: 3 }) });
    assert.equal(r.status, 200);
  } finally {
    assert.equal((await h.stopServer(s)).code, 0, s.stderr);
  }
});

test('SIGTERM drains: in-flight requests finish whole, then the process exits 0', async () => {
  const s = await h.startServer(['--parallel', '2', '--backend', 'cpu']);
  const plain = fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, max_tokens: 150, ignore_eos: true }) });
  const streamed = await longStream(s.url, { max_tokens: 150 });
  const reader = streamed.body.getReader();
  let events = new TextDecoder().decode((await reader.read()).value);
  s.child.kill('SIGTERM');
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    events += new TextDecoder().decode(value);
  }
  const whole = await (await plain).json();
  assert.equal(whole.usage.completion_tokens, 150);
  assert.ok(events.endsWith('data: [DONE]\n\n'));
  assert.match(events, /"finish_reason":"length"/);
  // The drained server exits by itself (after its idle keep-alive connections time out, 5 s).
  const exit = await Promise.race([s.exitPromise, h.sleep(30000).then(() => 'still running')]);
  if (exit === 'still running') await h.stopServer(s, 1000);
  assert.deepEqual(exit, { code: 0, signal: null }, s.stderr);
  assert.doesNotMatch(s.stderr, /second signal: exiting/);
  assert.match(s.stderr, /SIGTERM: draining/);
});
