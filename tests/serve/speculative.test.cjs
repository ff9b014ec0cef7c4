// `vkgraph serve --draft ngram` with the official OpenAI client: speculative decoding inside the
// batched engine's steps. Greedy text is the same with drafts as without (llama-server's
// per-request `speculative.n_max` of 0 turns them off for one request), requests with and without
// drafts run side by side, /metrics counts drafted and accepted tokens, and a request asking
// for more drafts than the server verifies gets an error naming the field.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const h = require('./harness.cjs');

const OpenAI = h.openai();
// A prompt that repeats itself: prompt lookup finds its continuation.
const PROMPT = 'The cat sat on the mat. The cat sat on the mat. The cat sat on the';
const N = 40;

let server;
let client;
test.before(async () => {
  server = await h.startServer(['--draft', 'ngram', '--draft-max', '6', '--parallel', '4', '-c', '256']);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
});
test.after(async () => {
  const exit = await h.stopServer(server);
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr);
});

test('speculative: drafts change no greedy token, with and without drafts side by side', async () => {
  assert.match(server.stderr, /batched engine ready .*n-gram drafts of up to 6/);
  const complete = (extra) => client.completions.create({ model: 'stories260K', prompt: PROMPT, max_tokens: N,
                                                          temperature: 0, ignore_eos: true, ...extra });
  const [drafted, plain, fewer] = await Promise.all([
    complete({}), complete({ 'speculative.n_max': 0 }), complete({ 'speculative.n_max': 2 })]);
  for (const r of [drafted, plain, fewer]) assert.equal(r.usage.completion_tokens, N);
  assert.equal(drafted.choices[0].text, plain.choices[0].text);
  assert.equal(fewer.choices[0].text, plain.choices[0].text);
  const m = await h.waitForMetrics(server.url, (x) => x.vkgraph_running_sequences === 0);
  assert.ok(m.vkgraph_draft_tokens_accepted_total > 0, JSON.stringify(m));
  assert.ok(m.vkgraph_draft_tokens_accepted_total <= m.vkgraph_draft_tokens_total);
  assert.equal(m.vkgraph_kv_blocks_used, 0);
});

test('speculative: more drafts than the server verifies is a 400 naming the limit', async () => {
  await assert.rejects(
    client.completions.create({ model: 'stories260K', prompt: PROMPT, max_tokens: 4, 'speculative.n_max': 7 }),
    (e) => e.status === 400 && e.error?.param === 'speculative.n_max' && /verifies at most 6/.test(e.message));
});
