// The batched engine's host logic, without a device: the block pool's reference counts and
// prefix cache (models/serving/block_pool.h), the scheduler's chunks, admission, prefix matching
// and preemption (scheduler.h), and the step inputs it lays out (step_inputs.h).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

#include "models/serving/block_pool.h"
#include "models/serving/scheduler.h"
#include "models/serving/step_inputs.h"
#include "models/serving/step_plans.h"

using namespace vkgraph;
using namespace vkgraph::serving;

namespace {

std::vector<int32_t> iota_tokens(int32_t first, size_t n) {
  std::vector<int32_t> t(n);
  std::iota(t.begin(), t.end(), first);
  return t;
}

const Chunk* chunk_of(const StepPlan& plan, SeqId id) {
  for (const Chunk& c : plan.chunks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

// Runs plans until `id` has computed every known token (a stand-in for the engine's steps,
// without sampling).
void run_until_computed(Scheduler& s, SeqId id) {
  for (int i = 0; i < 1000 && s.sequence(id).computed < int64_t(s.sequence(id).tokens.size()); ++i) {
    s.commit(s.schedule());
  }
  REQUIRE(s.sequence(id).computed == int64_t(s.sequence(id).tokens.size()));
}

}  // namespace

TEST_CASE("block pool: reference counts, free and cached blocks, eviction oldest first", "[serving]") {
  BlockPool pool(4, 2);
  CHECK(pool.available() == 4);
  const int32_t a = *pool.allocate(), b = *pool.allocate(), c = *pool.allocate(), d = *pool.allocate();
  CHECK(std::vector<int32_t>{a, b, c, d} == std::vector<int32_t>{0, 1, 2, 3});
  CHECK_FALSE(pool.allocate().has_value());
  CHECK(pool.held_count() == 4);

  const std::vector<int32_t> ta{1, 2}, tb{3, 4};
  const BlockHash ha = chain_hash({}, ta), hb = chain_hash(ha, tb);
  pool.publish(a, ha, ta);
  pool.publish(b, hb, tb);
  pool.retain(a);  // a second holder
  pool.release(a);
  CHECK(pool.held_count() == 4);  // still held once
  pool.release(b);                // b: cached (published, nobody holds it)
  pool.release(a);                // a: cached after b
  pool.release(c);                // c: free (never published)
  CHECK(pool.held_count() == 1);
  CHECK(pool.available() == 3);
  CHECK(pool.cached_count() == 2);

  // A lookup holds the cached block again; the wrong tokens under a right hash find nothing.
  CHECK(pool.lookup(ha, std::vector<int32_t>{1, 9}) == std::nullopt);
  CHECK(pool.lookup(hb, tb) == b);
  CHECK(pool.cached_count() == 1);
  // Allocation takes free blocks first, then the least recently released cached one (a), whose
  // hash is then forgotten.
  CHECK(pool.allocate() == c);
  CHECK(pool.allocate() == a);
  CHECK(pool.lookup(ha, ta) == std::nullopt);
  CHECK_FALSE(pool.allocate().has_value());
}

TEST_CASE("block pool: a chained hash names the whole prefix", "[serving]") {
  const std::vector<int32_t> x{5, 6, 7}, y{5, 6, 8};
  const BlockHash root = chain_hash({}, x);
  CHECK_FALSE(chain_hash({}, x) == chain_hash({}, y));
  CHECK_FALSE(chain_hash(root, x) == chain_hash({}, x));            // same tokens after another prefix
  CHECK_FALSE(chain_hash({}, std::vector<int32_t>{5, 6}) == root);  // a shorter block
  CHECK(chain_hash(root, y) == chain_hash(chain_hash({}, x), y));

  // Publishing a second block under a hash already published keeps the first.
  BlockPool pool(2, 3);
  const int32_t a = *pool.allocate(), b = *pool.allocate();
  pool.publish(a, root, x);
  pool.publish(b, root, x);
  pool.release(b);
  CHECK(pool.cached_count() == 0);  // b was never published: it is free
  CHECK(pool.lookup(root, x) == a);
}

TEST_CASE("scheduler: generating tokens first, then prompt chunks within the budget", "[serving]") {
  BlockPool pool(64, 4);
  Scheduler s(pool, {.max_running = 3, .step_tokens = 10, .chunk_tokens = 6, .n_ctx = 64});
  s.enqueue(1, iota_tokens(1, 9));
  s.enqueue(2, iota_tokens(100, 3));
  // Step 1: 1 takes a chunk of 6; 2 is admitted with the 4 left (all its 3 tokens).
  StepPlan p = s.schedule();
  REQUIRE(p.chunks.size() == 2);
  CHECK(p.chunks[0].id == 1);
  CHECK(p.chunks[0].first == 0);
  CHECK(p.chunks[0].count == 6);
  CHECK(p.chunks[0].outputs == 0);
  CHECK(p.chunks[1].id == 2);
  CHECK(p.chunks[1].count == 3);
  CHECK(p.chunks[1].outputs == 1);
  CHECK(p.tokens == 9);
  CHECK(p.admitted == std::vector<SeqId>{1, 2});
  CHECK(s.sequence(1).blocks.size() == 2);  // positions 0-5
  CHECK(s.sequence(2).blocks.size() == 1);
  s.commit(p);
  s.append(2, 7);  // 2 generates

  // Step 2: 2's next token first, then the rest of 1's prompt.
  p = s.schedule();
  REQUIRE(p.chunks.size() == 2);
  const Chunk* c1 = chunk_of(p, 1);
  const Chunk* c2 = chunk_of(p, 2);
  REQUIRE((c1 && c2));
  CHECK(c2->first == 3);
  CHECK(c2->count == 1);
  CHECK(c2->outputs == 1);
  CHECK(c1->first == 6);
  CHECK(c1->count == 3);
  CHECK(c1->outputs == 1);
  CHECK(p.chunks[0].id == 1);  // chunks in admission order

  // The step inputs: tokens after each other, slots through the blocks, padding to the bucket.
  StepInputs in;
  const StepLayout layout{
      .n_tokens = 8, .n_outputs = 3, .table_rows = 3, .max_blocks = 16, .block_size = 4, .trash_block = 63};
  build_step_inputs(s, p, layout, in);
  const SeqState& q1 = s.sequence(1);
  const SeqState& q2 = s.sequence(2);
  CHECK(in.tokens == std::vector<int32_t>{7, 8, 9, 7, 0, 0, 0, 0});
  CHECK(in.positions == std::vector<int32_t>{6, 7, 8, 3, 0, 0, 0, 0});
  CHECK(in.seq_rows == std::vector<int32_t>{q1.row, q1.row, q1.row, q2.row, -1, -1, -1, -1});
  CHECK(in.slots[0] == q1.blocks[1] * 4 + 2);
  CHECK(in.slots[2] == q1.blocks[2] * 4 + 0);
  CHECK(in.slots[3] == q2.blocks[0] * 4 + 3);
  CHECK(in.slots[4] == 63 * 4 + 0);  // padding writes the trash block
  CHECK(in.slots[7] == 63 * 4 + 3);
  CHECK(in.logit_rows == std::vector<int32_t>{2, 3, 0});
  CHECK(in.output_ids == std::vector<SeqId>{1, 2});
  CHECK(in.block_table[size_t(q1.row) * 16 + 2] == q1.blocks[2]);
  CHECK(in.block_table[size_t(q1.row) * 16 + 3] == -1);
}

TEST_CASE("scheduler: a second request with the same prefix holds the cached blocks", "[serving]") {
  BlockPool pool(32, 4);
  Scheduler s(pool, {.max_running = 2, .step_tokens = 64, .chunk_tokens = 64, .n_ctx = 64});
  std::vector<int32_t> system = iota_tokens(1, 10);  // two full blocks and two tokens
  std::vector<int32_t> a = system, b = system;
  a.push_back(50);
  b.push_back(60);
  b.push_back(61);
  s.enqueue(1, a);
  run_until_computed(s, 1);
  CHECK(pool.cached_count() == 0);  // published but held
  s.enqueue(2, b);
  const StepPlan p = s.schedule();
  REQUIRE(p.admitted == std::vector<SeqId>{2});
  const SeqState& q = s.sequence(2);
  CHECK(q.cached_tokens == 8);  // blocks 0 and 1; block 2 differs (tokens 9, 10, 60, 61 vs 9, 10, 50)
  CHECK(q.blocks[0] == s.sequence(1).blocks[0]);
  CHECK(q.blocks[1] == s.sequence(1).blocks[1]);
  CHECK(q.blocks[2] != s.sequence(1).blocks[2]);
  const Chunk* c = chunk_of(p, 2);
  REQUIRE(c);
  CHECK(c->first == 8);
  CHECK(c->count == 4);

  // After both end the blocks stay cached; the same prompt again is served from the cache up
  // to its last full block before the last token (which is always computed).
  s.commit(p);
  s.remove(1);
  s.remove(2);
  CHECK(pool.held_count() == 0);
  std::vector<int32_t> exact = iota_tokens(1, 12);  // three full blocks: the third holds the last token
  s.enqueue(3, iota_tokens(1, 12));
  run_until_computed(s, 3);
  s.remove(3);
  s.enqueue(4, exact);
  const StepPlan p4 = s.schedule();
  CHECK(s.sequence(4).cached_tokens == 8);
  REQUIRE(chunk_of(p4, 4));
  CHECK(chunk_of(p4, 4)->first == 8);
}

TEST_CASE("scheduler: blocks running out preempt the newest sequence, which resumes with its tokens", "[serving]") {
  // 6 blocks of 2: one sequence of the 12-token context fits alone, three of 4 tokens at once.
  BlockPool pool(6, 2);
  Scheduler s(pool, {.max_running = 3, .step_tokens = 16, .chunk_tokens = 16, .n_ctx = 12});
  s.enqueue(1, iota_tokens(1, 3));
  s.enqueue(2, iota_tokens(10, 3));
  s.enqueue(3, iota_tokens(20, 3));
  StepPlan p = s.schedule();
  CHECK(p.admitted.size() == 3);  // 2 blocks each
  s.commit(p);
  CHECK(pool.available() == 0);
  // Everyone generates: position 3 fits in the second blocks.
  for (SeqId id : {1, 2, 3}) s.append(id, 7);
  p = s.schedule();
  CHECK(p.preempted.empty());
  s.commit(p);
  // Position 4 needs a third block each and none is free: 3, the newest, goes; its two blocks
  // let 1 and 2 go on.
  for (SeqId id : {1, 2, 3}) s.append(id, 8);
  p = s.schedule();
  CHECK(p.preempted == std::vector<SeqId>{3});
  CHECK(p.chunks.size() == 2);
  CHECK(s.running_ids() == std::vector<SeqId>{1, 2});
  CHECK(s.sequence(3).tokens == std::vector<int32_t>{20, 21, 22, 7, 8});  // prompt and generated kept
  CHECK(s.sequence(3).computed == 0);
  CHECK(s.sequence(3).blocks.empty());
  CHECK(s.sequence(3).preemptions == 1);
  s.commit(p);
  for (SeqId id : {1, 2}) s.append(id, 9);
  s.commit(s.schedule());
  // Position 6: 2 goes too, in front of 3 in the queue.
  for (SeqId id : {1, 2}) s.append(id, 10);
  p = s.schedule();
  CHECK(p.preempted == std::vector<SeqId>{2});
  REQUIRE(p.chunks.size() == 1);
  CHECK(p.chunks[0].id == 1);
  CHECK(s.waiting_count() == 2);
  s.commit(p);
  // 1 runs to the end of its context (others may be admitted and preempted meanwhile), then 2
  // and 3 recompute everything they had and end with the logits of their last token.
  for (int32_t t = 11; t < 16; ++t) {
    s.append(1, t);
    s.commit(s.schedule());
  }
  CHECK(s.sequence(1).computed == 12);
  CHECK(pool.held_count() == 6);  // the whole pool
  s.remove(1);
  run_until_computed(s, 2);
  CHECK(s.sequence(2).tokens == std::vector<int32_t>{10, 11, 12, 7, 8, 9, 10});
  s.remove(2);
  run_until_computed(s, 3);
  CHECK(s.running_ids() == std::vector<SeqId>{3});
}

TEST_CASE("scheduler: a new request waits while its blocks are not there", "[serving]") {
  BlockPool pool(4, 4);
  Scheduler s(pool, {.max_running = 4, .step_tokens = 64, .chunk_tokens = 64, .n_ctx = 16});
  s.enqueue(1, iota_tokens(1, 12));  // 3 blocks
  s.enqueue(2, iota_tokens(50, 8));  // 2 blocks: only 1 left
  StepPlan p = s.schedule();
  CHECK(p.admitted == std::vector<SeqId>{1});
  CHECK(s.waiting_count() == 1);
  s.commit(p);
  s.remove(1);
  p = s.schedule();
  CHECK(p.admitted == std::vector<SeqId>{2});
}

TEST_CASE("scheduler: a pool smaller than one context is refused", "[serving]") {
  BlockPool pool(3, 4);
  CHECK_THROWS_WITH(Scheduler(pool, {.max_running = 1, .step_tokens = 8, .chunk_tokens = 8, .n_ctx = 16}),
                    "the KV cache has 3 blocks of 4 tokens, fewer than one sequence of 16 tokens needs (4)");
}

TEST_CASE("step buckets: powers of two from the smallest step up to the budget", "[serving]") {
  CHECK(step_buckets(512) == std::vector<int64_t>{4, 8, 16, 32, 64, 128, 256, 512});
  CHECK(step_buckets(100) == std::vector<int64_t>{4, 8, 16, 32, 64, 128});
  CHECK(step_buckets(1) == std::vector<int64_t>{4});
}

// Speculative decoding in the paged cache: drafts are computed with their token, each with its
// logits row, and a rejected draft leaves the sequence, its blocks and the prefix cache exactly
// as a sequence that never saw it (the oracle: a twin fed only the accepted tokens).
TEST_CASE("scheduler: drafts verified in one step, rejected ones rolled back to a twin that never saw them",
          "[serving]") {
  BlockPool pool(32, 4);
  Scheduler s(pool, {.max_running = 2, .step_tokens = 16, .chunk_tokens = 16, .n_ctx = 64});
  BlockPool twin_pool(32, 4);
  Scheduler twin(twin_pool, {.max_running = 2, .step_tokens = 16, .chunk_tokens = 16, .n_ctx = 64});
  for (Scheduler* x : {&s, &twin}) {
    x->enqueue(1, iota_tokens(10, 6));
    x->commit(x->schedule());
    x->append(1, 50);
  }
  // 50 is the sampled token; five drafts behind it reach positions 7-11 (blocks 1 and 2).
  const std::vector<int32_t> drafts{51, 52, 53, 54, 55};
  s.append_draft(1, drafts);
  StepPlan p = s.schedule();
  REQUIRE(p.chunks.size() == 1);
  CHECK(p.chunks[0].first == 6);
  CHECK(p.chunks[0].count == 6);
  CHECK(p.chunks[0].outputs == 6);  // 50's row, then each draft's
  CHECK(s.sequence(1).blocks.size() == 3);
  StepInputs in;
  build_step_inputs(
      s, p, {.n_tokens = 8, .n_outputs = 8, .table_rows = 2, .max_blocks = 16, .block_size = 4, .trash_block = 31}, in);
  CHECK(in.output_ids == std::vector<SeqId>(6, 1));
  CHECK(std::vector<int32_t>(in.logit_rows.begin(), in.logit_rows.begin() + 6) ==
        std::vector<int32_t>{0, 1, 2, 3, 4, 5});
  s.commit(p);
  // Position 7 completes block 1 with drafts in it: it must not be published yet.
  CHECK(s.sequence(1).hashes.size() == 1);

  // Two drafts accepted (51, 52), three rolled back.
  s.resolve_draft(1, 2);
  twin.commit(twin.schedule());  // computes 50
  for (int32_t t : {51, 52}) {
    twin.append(1, t);
    twin.commit(twin.schedule());
  }
  const SeqState& a = s.sequence(1);
  const SeqState& b = twin.sequence(1);
  CHECK(a.tokens == b.tokens);
  CHECK(a.computed == b.computed);
  CHECK(a.computed == 9);
  CHECK(a.tentative == 0);
  CHECK(a.blocks.size() == b.blocks.size());  // block 2 held only rejected positions: released
  CHECK(a.hashes == b.hashes);                // block 1 (positions 4-7) now verified and published
  CHECK(pool.held_count() == twin_pool.held_count());
  CHECK(pool.available() == twin_pool.available());

  // Generation goes on as usual; drafts that the budget cannot hold are cut, not split.
  s.append(1, 60);
  s.append_draft(1, std::vector<int32_t>(20, 61));
  p = s.schedule();
  REQUIRE(p.chunks.size() == 1);
  CHECK(p.chunks[0].count == 16);
  CHECK(p.chunks[0].outputs == 16);
  CHECK(s.sequence(1).tentative == 15);
  s.commit(p);
  s.resolve_draft(1, 0);
  CHECK(s.sequence(1).computed == 10);
  CHECK(s.sequence(1).tokens.size() == 10);
  CHECK(s.sequence(1).blocks.size() == 3);

  // Resolving before the step that computes the drafts is a bug the scheduler names.
  s.append(1, 70);
  s.append_draft(1, drafts);
  CHECK_THROWS_WITH(s.resolve_draft(1, 0), Catch::Matchers::ContainsSubstring("resolves 0 of 5 drafts"));
  CHECK(s.remove(1));
  CHECK(pool.held_count() == 0);
}

TEST_CASE("scheduler: a preempted sequence loses its drafts and is recomputed from verified tokens", "[serving]") {
  // 4 blocks of 4: 1 holds one block, 2 holds two; both then need one more and one is left, so
  // the newest (2, with drafts) is preempted when 1 takes it.
  BlockPool pool(4, 4);
  Scheduler s(pool, {.max_running = 2, .step_tokens = 64, .chunk_tokens = 64, .n_ctx = 12});
  s.enqueue(1, iota_tokens(10, 4));
  s.enqueue(2, iota_tokens(100, 8));
  s.commit(s.schedule());
  s.append(1, 50);
  s.append(2, 150);
  s.append_draft(2, std::vector<int32_t>{151, 152});
  const StepPlan p = s.schedule();
  CHECK(p.preempted == std::vector<SeqId>{2});
  REQUIRE(p.chunks.size() == 1);
  CHECK(p.chunks[0].id == 1);
  const SeqState& two = s.sequence(2);
  CHECK(two.tentative == 0);
  CHECK(two.tokens.size() == 9);  // its prompt and its sampled token: the drafts are gone
  CHECK(two.tokens.back() == 150);
  CHECK(two.blocks.empty());
  CHECK(s.waiting_count() == 1);
}
