// edge_relay.h — a second NUMA node's driver, run in lockstep with the first.
//
// With the model's matrices split by rows between CPU nodes, every matrix product has a share on
// each node. The first node's driver thread posts the other node's share to that node's relay
// thread (pinned on the other node, and thread 0 of that node's pool), computes its own share on
// its own pool, then waits for the relay. A post is a store and the wait a load of one counter
// each: ~0.1 us while the relay spins; after EDGE_RELAY_SPIN_NS without work it parks on a
// condition variable (the next post wakes it, tens of microseconds).
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "edge_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edge_relay edge_relay;

// Starts the relay thread, pinned to `cpu` (< 0: not pinned). NULL if it could not be started.
edge_relay *edge_relay_create(int cpu);
// Waits for a posted job, then stops and joins the thread.
void edge_relay_destroy(edge_relay *relay);

// The share of a matrix product one node computes: edge_op_matmul_packed (packed != 0) or
// edge_op_matmul over rows [row_start, row_start + rows) of W, or edge_op_matmul_f32 when
// x_f32 is set. Y points at the first output column of the share.
typedef struct {
    edge_pool *pool;
    int weight_type;
    int packed;
    int64_t n;
    const void *W;          // packed rows, or the share's first row in file layout
    size_t w_row_bytes;
    int64_t rows;
    const void *A;          // quantized activation rows (fast path)
    size_t a_row_bytes;
    const float *x_f32;     // F32 activations (reference path), or NULL
    int64_t ntok;
    float *Y;
    int64_t y_stride;
} edge_matmul_job;

// Runs one job on the calling thread's pool (job->pool).
void edge_matmul_job_run(const edge_matmul_job *job);

// Hands `job` (copied) to the relay thread and returns at once. One job at a time: call
// edge_relay_wait before posting again.
void edge_relay_post(edge_relay *relay, const edge_matmul_job *job);
// Returns when the posted job is done.
void edge_relay_wait(edge_relay *relay);

#ifdef __cplusplus
}
#endif
