/* vkgraph: run language models on any GPU through Vulkan (or on the CPU). The C interface.
 *
 * Errors: every call returns a vkgraph_status (VKGRAPH_OK is 0). On failure,
 * vkgraph_last_error() gives a message naming the argument, file or limit at fault. The message
 * is per thread and stays valid until the next failing call on that thread.
 * No C++ exception crosses this interface; an allocation failure is VKGRAPH_ERR_OUT_OF_MEMORY.
 *
 * Thread safety:
 *  - A model may be used by many contexts at once, from many threads (it is read-only once loaded).
 *    The contexts of one model share its device: their evaluation steps are serialized, so two
 *    threads generating on one model take turns (use two models for parallel work).
 *  - A context is used by one thread at a time. The one exception is vkgraph_context_cancel(),
 *    which any thread may call at any time while another thread generates.
 *  - Free the contexts of a model before the model. Freeing a handle while another thread uses
 *    it is not allowed. NULL handles are rejected with VKGRAPH_ERR_INVALID_ARGUMENT.
 *  - Every handle checks a tag on each call, so a use after free is usually reported as
 *    VKGRAPH_ERR_INVALID_HANDLE (not guaranteed: the memory may have been reused).
 */
#ifndef VKGRAPH_H
#define VKGRAPH_H

#include <stddef.h>
#include <stdint.h>

#define VKGRAPH_VERSION_MAJOR 0
#define VKGRAPH_VERSION_MINOR 1
#define VKGRAPH_VERSION_PATCH 0
#define VKGRAPH_VERSION_STRING "0.1.0"
/* The version as one number: major * 10000 + minor * 100 + patch. */
#define VKGRAPH_VERSION (VKGRAPH_VERSION_MAJOR * 10000 + VKGRAPH_VERSION_MINOR * 100 + VKGRAPH_VERSION_PATCH)

#if defined(_WIN32)
#define VKGRAPH_API __declspec(dllexport)
#elif defined(__GNUC__)
#define VKGRAPH_API __attribute__((visibility("default")))
#else
#define VKGRAPH_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vkgraph_status {
  VKGRAPH_OK = 0,
  VKGRAPH_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, out-of-range value */
  VKGRAPH_ERR_INVALID_HANDLE = 2,   /* a freed or foreign handle */
  VKGRAPH_ERR_FILE = 3,             /* missing or unreadable model file */
  VKGRAPH_ERR_MODEL = 4,            /* a file that is not a model vkgraph can run */
  VKGRAPH_ERR_DEVICE = 5,           /* no such backend/device, or the device failed */
  VKGRAPH_ERR_CONTEXT_FULL = 6,     /* tokens do not fit the context */
  VKGRAPH_ERR_CANCELLED = 7,        /* a load cancelled through its flag */
  VKGRAPH_ERR_UNSUPPORTED = 8,      /* a feature this build does not have yet */
  VKGRAPH_ERR_OUT_OF_MEMORY = 9,
  VKGRAPH_ERR_INTERNAL = 10,
  VKGRAPH_ERR_NETWORK = 11,   /* the Hub cannot be reached, answered an error, a download broke off or
                                 arrived with the wrong checksum */
  VKGRAPH_ERR_NOT_FOUND = 12, /* no such repository, quant or file on the Hub (or offline and not cached) */
  VKGRAPH_ERR_ACCESS = 13     /* a gated or private repository: no token, or the token was refused */
} vkgraph_status;

typedef struct vkgraph_model vkgraph_model;
typedef struct vkgraph_context vkgraph_context;
typedef struct vkgraph_sampler vkgraph_sampler;
typedef struct vkgraph_adapter vkgraph_adapter;
typedef int32_t vkgraph_token;

/* ---- Version and errors ---- */

/* The library's version ("0.1.0"), which may differ from the header's VKGRAPH_VERSION_STRING. */
VKGRAPH_API const char* vkgraph_version(void);
/* The message of the last failed call on this thread; "" when none failed. */
VKGRAPH_API const char* vkgraph_last_error(void);
/* A fixed name for a status ("VKGRAPH_ERR_FILE"). */
VKGRAPH_API const char* vkgraph_status_name(vkgraph_status status);

/* ---- Devices ---- */

typedef struct vkgraph_device_info {
  char backend[16]; /* "vulkan", "cuda" or "cpu" */
  char name[256];
  uint32_t index;        /* the device's index within its backend */
  uint64_t memory_bytes; /* device-local memory; 0 for the CPU */
} vkgraph_device_info;

/* Fills up to `capacity` entries of `devices` (may be NULL with capacity 0) and sets *count to
 * the number of devices available (Vulkan devices first, then the CPU). */
VKGRAPH_API vkgraph_status vkgraph_list_devices(vkgraph_device_info* devices, size_t capacity, size_t* count);

/* ---- Models ---- */

/* Called during a load; `done` and `total` are bytes of weights. Return 0 to go on, nonzero to
 * cancel the load (it then fails with VKGRAPH_ERR_CANCELLED). */
typedef int (*vkgraph_progress_fn)(uint64_t done, uint64_t total, void* user_data);

typedef struct vkgraph_model_params {
  const char* backend;          /* "vulkan" (default when NULL), "cuda" (where built) or "cpu" */
  const char* device;           /* device index or name substring; NULL or "": the default device */
  vkgraph_progress_fn progress; /* may be NULL */
  void* progress_user_data;
  /* May be NULL. When another thread sets *cancel to nonzero, the load stops at the next tensor
   * with VKGRAPH_ERR_CANCELLED. */
  const volatile int* cancel;
} vkgraph_model_params;

VKGRAPH_API vkgraph_model_params vkgraph_model_default_params(void);

/* Loads a GGUF model. `path` NULL loads the bundled default model (stories260K). */
VKGRAPH_API vkgraph_status vkgraph_model_load(const char* path, const vkgraph_model_params* params,
                                              vkgraph_model** out_model);
VKGRAPH_API vkgraph_status vkgraph_model_free(vkgraph_model* model);
/* The model's vocabulary size and training context length. */
VKGRAPH_API vkgraph_status vkgraph_model_n_vocab(const vkgraph_model* model, int32_t* out);
VKGRAPH_API vkgraph_status vkgraph_model_n_ctx_train(const vkgraph_model* model, int32_t* out);

/* Text to tokens. Writes up to `capacity` ids and sets *n_tokens to the number the text needs
 * (call with capacity 0 to ask). Fails with VKGRAPH_ERR_INVALID_ARGUMENT when capacity is too
 * small (after setting *n_tokens). With add_bos, the model's BOS is prepended when it uses one;
 * with parse_special, the text of control tokens becomes those tokens. */
VKGRAPH_API vkgraph_status vkgraph_tokenize(const vkgraph_model* model, const char* text, size_t text_len, int add_bos,
                                            int parse_special, vkgraph_token* tokens, size_t capacity,
                                            size_t* n_tokens);
/* Tokens to UTF-8 text (NUL-terminated). *length is set to the text's length without the NUL;
 * fails like vkgraph_tokenize when capacity < *length + 1. */
VKGRAPH_API vkgraph_status vkgraph_detokenize(const vkgraph_model* model, const vkgraph_token* tokens, size_t n_tokens,
                                              char* text, size_t capacity, size_t* length);

typedef struct vkgraph_chat_message {
  const char* role; /* "system", "user" or "assistant" */
  const char* content;
} vkgraph_chat_message;

/* Renders messages through the model's own chat template (its Jinja `tokenizer.chat_template`,
 * rendered as Hugging Face renders it; a built-in format when it has none or it fails, with a
 * warning in the log), or through `template_name` when not NULL: a built-in format ("chatml",
 * "llama3", "llama2", "mistral", "zephyr", "gemma", "phi3") or the path of a Jinja template or
 * tokenizer_config.json. The text may begin with the BOS token's text when the template writes
 * it (Llama 3): tokenize it with parse_special and without add_bos in that case. Output as
 * vkgraph_detokenize. */
VKGRAPH_API vkgraph_status vkgraph_apply_chat_template(const vkgraph_model* model, const char* template_name,
                                                       const vkgraph_chat_message* messages, size_t n_messages,
                                                       int add_generation_prompt, char* text, size_t capacity,
                                                       size_t* length);

/* ---- Models from the Hugging Face Hub ---- */

/* Where models come from and go. NULL strings are taken from the environment, as huggingface_hub
 * and llama.cpp take them, so every tool shares one cache and one login. */
typedef struct vkgraph_hub_params {
  const char* endpoint;         /* NULL: $HF_ENDPOINT, else https://huggingface.co */
  const char* cache_dir;        /* NULL: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub */
  const char* token;            /* NULL: $HF_TOKEN, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token) */
  int offline;                  /* nonzero: only the cache, no network (also when HF_HUB_OFFLINE=1 is set) */
  int refresh;                  /* nonzero: ask the Hub for the newest files even when the cache has them */
  vkgraph_progress_fn progress; /* may be NULL: bytes of the file being downloaded; nonzero cancels */
  void* progress_user_data;
  const volatile int* cancel; /* may be NULL: set to nonzero from another thread to stop a download */
} vkgraph_hub_params;

VKGRAPH_API vkgraph_hub_params vkgraph_hub_default_params(void);

/* Resolves a model name as `vkgraph -hf` does to the local path of its GGUF file in the Hugging
 * Face cache, for vkgraph_model_load:
 *   "ORG/REPO"            the default quant: Q4_K_M, else Q8_0, else the first GGUF file
 *   "ORG/REPO:QUANT"      the file whose name carries QUANT (any case), e.g. "Q8_0"
 *   "ORG/REPO/FILE.gguf"  that file
 * When the cache holds the file the name means (fetched by vkgraph, huggingface_hub, llama.cpp,
 * ...; for a name without a quant, a Q4_K_M file) no request is made. Otherwise the Hub is asked
 * (and when it cannot be reached, a file the cache holds is used) and the file is downloaded
 * (every part of a split model; the path is the first part's, which vkgraph_model_load opens with
 * the others), resumed if a partial download is there, checked against the Hub's SHA-256 and
 * only then put in place. The path is written as vkgraph_detokenize writes text (4096 bytes hold
 * any path). Errors: VKGRAPH_ERR_NOT_FOUND, VKGRAPH_ERR_ACCESS (vkgraph_last_error() says how to
 * give a token), VKGRAPH_ERR_NETWORK, VKGRAPH_ERR_FILE (disk full, cache not writable),
 * VKGRAPH_ERR_CANCELLED (the partial file stays and the next call resumes it),
 * VKGRAPH_ERR_INVALID_ARGUMENT (a malformed name). */
VKGRAPH_API vkgraph_status vkgraph_hub_resolve(const char* name, const vkgraph_hub_params* params, char* path,
                                               size_t capacity, size_t* length);

/* ---- Contexts ---- */

typedef struct vkgraph_context_params {
  int32_t n_ctx; /* KV cache slots; 0: the model's training context, at most 4096 */
  /* The KV cache ring (default 4). With sinks > 0 (and < n_ctx) the context never fills: once
   * n_ctx tokens are cached, the first `sinks` tokens stay as attention sinks and each new token
   * overwrites the oldest of the others, so generation goes on in fixed memory (StreamingLLM).
   * Positions are positions inside the cache, so the model never sees one >= n_ctx. An eval that
   * overflows runs in chunks of at most (n_ctx - sinks) / 8 tokens (at least 1), each evicting
   * as many old tokens as it writes. 0: no ring, the context is a hard limit
   * (VKGRAPH_ERR_CONTEXT_FULL, VKGRAPH_STOP_CONTEXT_FULL). Negative or >= n_ctx:
   * VKGRAPH_ERR_INVALID_ARGUMENT. */
  int32_t sinks;
} vkgraph_context_params;

VKGRAPH_API vkgraph_context_params vkgraph_context_default_params(void);

/* A context runs on the model's backend and device and holds its own KV cache. */
VKGRAPH_API vkgraph_status vkgraph_context_create(vkgraph_model* model, const vkgraph_context_params* params,
                                                  vkgraph_context** out_context);
VKGRAPH_API vkgraph_status vkgraph_context_free(vkgraph_context* context);
/* Forgets every evaluated token. */
VKGRAPH_API vkgraph_status vkgraph_context_reset(vkgraph_context* context);
/* Tokens evaluated since the last reset; with the ring this may exceed n_ctx (the cache then
 * holds n_ctx of them). */
VKGRAPH_API vkgraph_status vkgraph_context_n_past(const vkgraph_context* context, int32_t* out);
VKGRAPH_API vkgraph_status vkgraph_context_n_ctx(const vkgraph_context* context, int32_t* out);

/* Evaluates tokens at the next positions. When `logits` is not NULL, the last token's logits
 * ([n_vocab] floats) are written there. Without the ring (sinks 0): VKGRAPH_ERR_CONTEXT_FULL,
 * changing nothing, when they do not fit. */
VKGRAPH_API vkgraph_status vkgraph_eval(vkgraph_context* context, const vkgraph_token* tokens, size_t n_tokens,
                                        float* logits);

/* ---- LoRA adapters ----
 *
 * A LoRA adapter in llama.cpp's GGUF adapter format (what convert_lora_to_gguf.py writes from a
 * PEFT/QLoRA fine-tune) is loaded once per model: checked against the model's weights and
 * uploaded to its device. Each context then applies any of the model's adapters, each at its own
 * scale: the adapted product is W x + scale * (alpha / r) * B (A x), computed beside the base
 * weight as it was loaded (quantized or not), as llama.cpp does. Switching or rescaling adapters
 * between generations uploads nothing and leaves the model as it is, so two contexts of one
 * model may apply different adapters at the same time. (To merge an adapter into the weights
 * instead, use `vkgraph run --lora FILE --lora-merge`.) */

/* Loads the adapter at `path` for `model`. Fails with VKGRAPH_ERR_FILE when the file cannot be
 * read, VKGRAPH_ERR_MODEL when it is not a LoRA adapter or does not fit the model (another
 * architecture, a tensor the model lacks, a shape that differs: the message names the tensor
 * and both shapes). The adapter belongs to the model: vkgraph_model_free frees any left. */
VKGRAPH_API vkgraph_status vkgraph_adapter_load(vkgraph_model* model, const char* path, vkgraph_adapter** out_adapter);
/* Frees an adapter. Contexts that apply it keep using it until they set other adapters or are
 * freed. */
VKGRAPH_API vkgraph_status vkgraph_adapter_free(vkgraph_adapter* adapter);

typedef struct vkgraph_adapter_scale {
  vkgraph_adapter* adapter;
  float scale; /* 1: as trained; 0: as if not applied (it is then left out, as in llama.cpp) */
} vkgraph_adapter_scale;

/* Sets the adapters `context` applies from its next evaluation on, replacing any set before
 * (n_adapters 0: none). Every adapter must belong to the context's model, appear once and have a
 * finite scale (else VKGRAPH_ERR_INVALID_ARGUMENT, changing nothing). The tokens the context
 * already holds keep what they were computed with; vkgraph_context_reset starts clean. */
VKGRAPH_API vkgraph_status vkgraph_context_set_adapters(vkgraph_context* context, const vkgraph_adapter_scale* adapters,
                                                        size_t n_adapters);

/* ---- Samplers ---- */

typedef struct vkgraph_sampler_params {
  float temperature;    /* 0: greedy */
  int32_t top_k;        /* 0: off */
  float top_p;          /* 1: off */
  float min_p;          /* 0: off */
  float repeat_penalty; /* 1: off */
  int32_t repeat_last_n;
  uint64_t seed;
} vkgraph_sampler_params;

/* The defaults of `vkgraph run`: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05. */
VKGRAPH_API vkgraph_sampler_params vkgraph_sampler_default_params(void);
VKGRAPH_API vkgraph_status vkgraph_sampler_create(const vkgraph_sampler_params* params, vkgraph_sampler** out_sampler);
VKGRAPH_API vkgraph_status vkgraph_sampler_free(vkgraph_sampler* sampler);

/* ---- Generation ---- */

/* Called as generated tokens complete text: `token` is the token just drawn and `piece` its text
 * as complete UTF-8 (never empty). A token whose bytes end inside a character gets no call of its
 * own; its bytes come with the next call. A final call with token -1 may flush bytes that never
 * formed a character (as U+FFFD). Return 0 to go on, nonzero to stop before the next token. */
typedef int (*vkgraph_token_fn)(vkgraph_token token, const char* piece, size_t piece_len, void* user_data);

typedef struct vkgraph_generate_params {
  int32_t max_tokens; /* default 128 */
  int ignore_eos;     /* keep going past end-of-generation tokens */
} vkgraph_generate_params;

VKGRAPH_API vkgraph_generate_params vkgraph_generate_default_params(void);

typedef enum vkgraph_stop_reason {
  VKGRAPH_STOP_MAX_TOKENS = 0,
  VKGRAPH_STOP_EOG = 1,         /* the model ended its text */
  VKGRAPH_STOP_CANCELLED = 2,   /* vkgraph_context_cancel() or the callback asked */
  VKGRAPH_STOP_CONTEXT_FULL = 3 /* only without the ring (sinks 0) */
} vkgraph_stop_reason;

/* Evaluates `prompt` and generates after it, calling `on_token` as text completes. Afterwards
 * the context holds the prompt and every generated token, so a later call continues the text.
 * `prompt` may be empty right after vkgraph_eval or after a generation that stopped at
 * max_tokens (the last logits are then known); otherwise it is VKGRAPH_ERR_INVALID_ARGUMENT. `stop` (may be NULL) tells
 * why it ended. A cancel request made before the call starts is cleared on entry; one made during it stops generation
 * before the next token is drawn. */
VKGRAPH_API vkgraph_status vkgraph_generate(vkgraph_context* context, vkgraph_sampler* sampler,
                                            const vkgraph_token* prompt, size_t n_prompt,
                                            const vkgraph_generate_params* params, vkgraph_token_fn on_token,
                                            void* user_data, vkgraph_stop_reason* stop);

/* Asks a running vkgraph_generate on this context to stop. Safe from any thread. */
VKGRAPH_API vkgraph_status vkgraph_context_cancel(vkgraph_context* context);

typedef struct vkgraph_timings {
  int64_t prompt_tokens; /* of the last vkgraph_eval (or the prompt of vkgraph_generate) */
  double prompt_seconds;
  int64_t generated_tokens;
  double generation_seconds;
} vkgraph_timings;

/* Timings of the last vkgraph_generate (its prompt and its tokens). */
VKGRAPH_API vkgraph_status vkgraph_context_timings(const vkgraph_context* context, vkgraph_timings* out);

/* ---- Embeddings ---- */

typedef enum vkgraph_pooling {
  VKGRAPH_POOLING_DEFAULT = -1, /* the file's {arch}.pooling_type; mean when it names none */
  VKGRAPH_POOLING_NONE = 0,     /* every token's vector (n_tokens * n_embd floats), each normalized */
  VKGRAPH_POOLING_MEAN = 1,     /* the mean over the tokens */
  VKGRAPH_POOLING_CLS = 2,      /* the first token's */
  VKGRAPH_POOLING_LAST = 3      /* the last token's (Qwen3-Embedding) */
} vkgraph_pooling;

/* The width of the model's hidden states: the length of an embedding. */
VKGRAPH_API vkgraph_status vkgraph_model_n_embd(const vkgraph_model* model, int32_t* out);

/* Embeds a text given as tokens (vkgraph_tokenize with add_bos): the final hidden states after
 * the output norm, pooled, then L2-normalized, so the dot product of two embeddings is their
 * cosine similarity (llama.cpp's embeddings with --embd-normalize 2). Writes up to `capacity`
 * floats and sets *n_floats to the number the result has (n_embd; n_tokens * n_embd with
 * VKGRAPH_POOLING_NONE); fails with VKGRAPH_ERR_INVALID_ARGUMENT when capacity is too small
 * (after setting *n_floats). The model keeps a KV cache of its own for this (no context's state
 * changes), sized for the longest text so far. Like a context's evaluation, it takes the
 * model's device in turn with its contexts. */
VKGRAPH_API vkgraph_status vkgraph_embed(vkgraph_model* model, const vkgraph_token* tokens, size_t n_tokens,
                                         vkgraph_pooling pooling, float* out, size_t capacity, size_t* n_floats);

#ifdef __cplusplus
}
#endif

#endif /* VKGRAPH_H */
