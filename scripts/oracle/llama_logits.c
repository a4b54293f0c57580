// llama_logits: llama.cpp's logits for every position of a list of token ids, as JSON on stdout:
// {"logits": [[vocab floats] per position]}. The cross-implementation oracle of
// TinyModelOracleTests.testLogitsAgreeWithLlamaCpp (built by scripts/oracle/build-llama-logits.sh
// against a llama.cpp build; the test skips visibly without it).
//
// Usage: llama_logits MODEL.gguf ID,ID,...
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llama.h"

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)user;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf ID,ID,...\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet, NULL);
    int cap = 16, n = 0;
    llama_token *ids = malloc(sizeof(llama_token) * cap);
    for (char *s = argv[2], *end; *s; s = *end ? end + 1 : end) {
        long v = strtol(s, &end, 10);
        if (end == s) { fprintf(stderr, "bad id list\n"); return 2; }
        if (n == cap) ids = realloc(ids, sizeof(llama_token) * (cap *= 2));
        ids[n++] = (llama_token)v;
    }
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(n < 64 ? 64 : n);
    cp.n_batch = cp.n_ubatch = (uint32_t)n;
    cp.n_threads = cp.n_threads_batch = 1;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    struct llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i];
        batch.pos[i] = i;
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0;
        batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "llama_decode failed\n"); return 1; }
    const int vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    printf("{\"logits\": [");
    for (int i = 0; i < n; i++) {
        const float *l = llama_get_logits_ith(ctx, i);
        printf(i ? ", [" : "[");
        for (int j = 0; j < vocab; j++) printf(j ? ", %.9g" : "%.9g", l[j]);
        printf("]");
    }
    printf("]}\n");
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    free(ids);
    return 0;
}
