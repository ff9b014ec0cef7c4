/* Loads a model (the bundled default when no -m is given) and streams a completion of a prompt
 * to standard output through the vkgraph C API. With -hf the model comes from the Hugging Face
 * Hub: from the shared cache when it is there, else downloaded into it.
 *
 *   complete [-m model.gguf | -hf ORG/REPO[:QUANT]] [-p prompt] [-n tokens] [--temp T] [--seed S]
 *            [--backend vulkan|cpu]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vkgraph.h>

static int print_piece(vkgraph_token token, const char* piece, size_t len, void* user_data) {
  (void)token;
  (void)user_data;
  fwrite(piece, 1, len, stdout);
  fflush(stdout);
  return 0; /* go on */
}

static int show_download(uint64_t done, uint64_t total, void* user_data) {
  (void)user_data;
  if (total > 0) fprintf(stderr, "\rdownloading: %3d%%", (int)(done * 100 / total));
  return 0; /* go on */
}

static int fail(const char* what, vkgraph_status status) {
  fprintf(stderr, "complete: %s failed (%s): %s\n", what, vkgraph_status_name(status), vkgraph_last_error());
  return 1;
}

int main(int argc, char** argv) {
  const char* model_path = NULL; /* NULL: the bundled stories260K */
  const char* hf = NULL;         /* a model name on the Hugging Face Hub */
  const char* prompt = "Once upon a time";
  int n_predict = 32;
  vkgraph_model_params mp = vkgraph_model_default_params();
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "-m") == 0) model_path = argv[i + 1];
    else if (strcmp(argv[i], "-hf") == 0) hf = argv[i + 1];
    else if (strcmp(argv[i], "-p") == 0) prompt = argv[i + 1];
    else if (strcmp(argv[i], "-n") == 0) n_predict = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--temp") == 0) sp.temperature = (float)atof(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) sp.seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--backend") == 0) mp.backend = argv[i + 1];
    else {
      fprintf(stderr, "complete: unknown option %s\n", argv[i]);
      return 2;
    }
  }

  char hub_path[4096]; /* holds any path vkgraph_hub_resolve writes */
  if (hf != NULL) {
    vkgraph_hub_params hp = vkgraph_hub_default_params(); /* cache, endpoint and token as other tools find them */
    hp.progress = show_download;
    size_t length = 0;
    const vkgraph_status hs = vkgraph_hub_resolve(hf, &hp, hub_path, sizeof hub_path, &length);
    fputs("\r\033[K", stderr);
    if (hs != VKGRAPH_OK) return fail("getting the model from the Hugging Face Hub", hs);
    model_path = hub_path;
  }

  vkgraph_model* model = NULL;
  vkgraph_status s = vkgraph_model_load(model_path, &mp, &model);
  if (s != VKGRAPH_OK) return fail("loading the model", s);
  vkgraph_context* ctx = NULL;
  vkgraph_context_params cp = vkgraph_context_default_params();
  if ((s = vkgraph_context_create(model, &cp, &ctx)) != VKGRAPH_OK) return fail("creating a context", s);
  vkgraph_sampler* sampler = NULL;
  if ((s = vkgraph_sampler_create(&sp, &sampler)) != VKGRAPH_OK) return fail("creating a sampler", s);

  /* Ask for the length first, then tokenize into a buffer that fits. */
  size_t n_tokens = 0;
  vkgraph_tokenize(model, prompt, strlen(prompt), 1, 1, NULL, 0, &n_tokens);
  vkgraph_token* tokens = malloc((n_tokens + 1) * sizeof(vkgraph_token));
  if ((s = vkgraph_tokenize(model, prompt, strlen(prompt), 1, 1, tokens, n_tokens, &n_tokens)) != VKGRAPH_OK) {
    return fail("tokenizing the prompt", s);
  }

  fputs(prompt, stdout);
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = n_predict;
  vkgraph_stop_reason stop;
  s = vkgraph_generate(ctx, sampler, tokens, n_tokens, &gp, print_piece, NULL, &stop);
  fputs("\n", stdout);
  if (s != VKGRAPH_OK) return fail("generating", s);

  vkgraph_timings t;
  vkgraph_context_timings(ctx, &t);
  fprintf(stderr, "vkgraph %s: %lld prompt tokens in %.3f s, %lld generated in %.3f s\n", vkgraph_version(),
          (long long)t.prompt_tokens, t.prompt_seconds, (long long)t.generated_tokens, t.generation_seconds);
  free(tokens);
  vkgraph_sampler_free(sampler);
  vkgraph_context_free(ctx);
  vkgraph_model_free(model);
  return 0;
}
