// Prints llama.cpp's logits for a token sequence as JSON, for references the tests compare
// against (scripts/reference-longrope.sh builds it against llama.cpp's prebuilt CPU libraries):
//   llama_logits MODEL N_CTX TOKEN[,TOKEN...]
// One batch holds every token, each with its logits. Prints {"n_ctx_seq", "tokens", "logits"}:
// n_ctx_seq is the context llama.cpp settled on (it pads the asked size to 256), which decides
// for instance which LongRoPE factor set it used.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL N_CTX TOKEN[,TOKEN...]\n", argv[0]);
    return 2;
  }
  std::vector<llama_token> tokens;
  for (const char* at = argv[3]; *at != '\0';) {
    char* end = nullptr;
    tokens.push_back(llama_token(std::strtol(at, &end, 10)));
    at = *end == ',' ? end + 1 : end;
  }
  llama_backend_init();
  llama_model_params model_params = llama_model_default_params();
  model_params.n_gpu_layers = 0;
  llama_model* model = llama_model_load_from_file(argv[1], model_params);
  if (model == nullptr) return 1;
  llama_context_params context_params = llama_context_default_params();
  context_params.n_ctx = uint32_t(std::atoi(argv[2]));
  context_params.n_batch = context_params.n_ubatch = uint32_t(tokens.size());
  context_params.n_threads = context_params.n_threads_batch = 2;
  llama_context* ctx = llama_init_from_model(model, context_params);
  if (ctx == nullptr) return 1;
  llama_batch batch = llama_batch_init(int32_t(tokens.size()), 0, 1);
  for (size_t i = 0; i < tokens.size(); ++i) {
    batch.token[i] = tokens[i];
    batch.pos[i] = llama_pos(i);
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  batch.n_tokens = int32_t(tokens.size());
  if (llama_decode(ctx, batch) != 0) return 1;
  const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::printf("{\"n_ctx_seq\": %u, \"tokens\": [", llama_n_ctx_seq(ctx));
  for (size_t i = 0; i < tokens.size(); ++i) std::printf("%s%d", i ? ", " : "", tokens[i]);
  std::printf("], \"logits\": [");
  for (size_t i = 0; i < tokens.size(); ++i) {
    const float* row = llama_get_logits_ith(ctx, int32_t(i));
    std::printf("%s[", i ? ",\n" : "\n");
    for (int32_t v = 0; v < n_vocab; ++v) std::printf("%s%.9g", v ? ", " : "", row[v]);
    std::printf("]");
  }
  std::printf("]}\n");
  llama_batch_free(batch);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
