// The client load of scripts/bench-serve.sh: `streams` clients, each sending `requests` streamed
// completions one after another through the official OpenAI client, every request the same for
// both servers (a prompt of token ids, greedy, a fixed number of tokens: ignore_eos). Prints one
// JSON line: aggregate generated tokens per second over the run's wall time, time to first token
// percentiles, and the request count.
//
//   node bench_serve_client.cjs URL MODEL STREAMS REQUESTS PROMPT_TOKENS MAX_TOKENS VOCAB [SHARED_PREFIX]
'use strict';
const path = require('node:path');

const [url, model, streams, requests, promptTokens, maxTokens, vocab, sharedPrefix] = process.argv.slice(2);
const http = require('node:http');
const OpenAI = require(path.join(process.env.VKGRAPH_NODE_MODULES || '', 'openai'));
// A connection per request: llama-server (cpp-httplib) closes a kept-alive connection after a
// streamed response, and the client's next request on that socket would fail. The same for both
// servers, so neither gains from connection reuse.
const client = new OpenAI({
  baseURL: `${url}/v1`,
  apiKey: 'unused',
  maxRetries: 0,
  timeout: 600000,
  httpAgent: new http.Agent({ keepAlive: false }),
});

// Prompt i: token 1 (BOS), then SHARED_PREFIX tokens common to all requests (a system prompt),
// then pseudo-random ids of its own, so prompts differ and no cache of whole prompts helps: the
// ids also depend on the run's stream and token counts, so no run (nor the warm-up) finds the
// blocks of an earlier one in a prefix cache. The same for every server.
function prompt(i) {
  const ids = [1];
  let x = 12345 + i * 7919 + Number(streams) * 1000003 + Number(maxTokens) * 131;
  for (let t = 0; t < Number(sharedPrefix || 0); ++t) ids.push(3 + (t * 31) % (Number(vocab) - 3));
  while (ids.length < Number(promptTokens)) {
    x = (x * 1103515245 + 12345) % 2147483648;
    ids.push(3 + (x % (Number(vocab) - 3)));
  }
  return ids;
}

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

async function one(i) {
  const start = performance.now();
  let first = 0;
  let tokens = 0;
  const stream = await client.completions.create({
    model, prompt: prompt(i), max_tokens: Number(maxTokens), temperature: 0, stream: true, ignore_eos: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) {
    if (!first && chunk.choices?.some((c) => c.text)) first = performance.now() - start;
    if (chunk.usage) usage = chunk.usage;
  }
  tokens = usage?.completion_tokens ?? 0;
  return { ttft: first, tokens, seconds: (performance.now() - start) / 1000 };
}

(async () => {
  const results = [];
  let next = 0;
  const total = Number(streams) * Number(requests);
  const start = performance.now();
  await Promise.all(Array.from({ length: Number(streams) }, async () => {
    while (next < total) results.push(await one(next++));
  }));
  const seconds = (performance.now() - start) / 1000;
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const ttft = results.map((r) => r.ttft);
  console.log(JSON.stringify({
    streams: Number(streams), requests: results.length, tokens, seconds,
    tokens_per_second: tokens / seconds,
    ttft_p50_ms: percentile(ttft, 50), ttft_p95_ms: percentile(ttft, 95),
    short: results.filter((r) => r.tokens !== Number(maxTokens)).length,
  }));
})().catch((e) => { console.error(`bench-serve client: ${e.stack || e}`); process.exit(1); });
