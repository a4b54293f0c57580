// edge_relay.c — see edge_relay.h.
#define _GNU_SOURCE
#include "edge_relay.h"
#include "edge_ops.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define RELAY_PAUSE() _mm_pause()
#else
#define RELAY_PAUSE() ((void)0)
#endif

// How long the relay spins for the next job before parking (the gap between two matrix products
// of a layer is microseconds; between tokens it can be much longer).
#define EDGE_RELAY_SPIN_NS 2000000ull

struct edge_relay {
    pthread_t thread;
    int cpu;
    edge_matmul_job job;
    _Atomic uint64_t posted;     // jobs posted
    _Atomic uint64_t done;       // jobs finished
    _Atomic int stop;
    _Atomic int parked;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void edge_matmul_job_run(const edge_matmul_job *j) {
    if (j->x_f32)
        edge_op_matmul_f32(j->pool, j->weight_type, j->n, j->W, j->w_row_bytes, j->rows, j->x_f32, j->ntok, j->Y, j->y_stride);
    else if (j->packed)
        edge_op_matmul_packed(j->pool, j->weight_type, j->n, j->W, j->rows, j->A, j->a_row_bytes, j->ntok, j->Y, j->y_stride);
    else
        edge_op_matmul(j->pool, j->weight_type, j->n, j->W, j->w_row_bytes, j->rows, j->A, j->a_row_bytes, j->ntok, j->Y,
                       j->y_stride);
}

static void *relay_main(void *arg) {
    edge_relay *r = arg;
    if (r->cpu >= 0) edge_pin_current_thread(r->cpu);
    uint64_t seen = 0;
    for (;;) {
        uint64_t t0 = now_ns();
        unsigned spins = 0;
        while (atomic_load_explicit(&r->posted, memory_order_acquire) == seen && !atomic_load(&r->stop)) {
            RELAY_PAUSE();
            if (++spins % 1024 == 0 && now_ns() - t0 > EDGE_RELAY_SPIN_NS) {
                pthread_mutex_lock(&r->lock);
                atomic_store(&r->parked, 1);
                while (atomic_load(&r->posted) == seen && !atomic_load(&r->stop))   // seq_cst, after `parked`
                    pthread_cond_wait(&r->wake, &r->lock);
                atomic_store(&r->parked, 0);
                pthread_mutex_unlock(&r->lock);
            }
        }
        if (atomic_load(&r->stop) && atomic_load_explicit(&r->posted, memory_order_acquire) == seen) break;
        seen = atomic_load_explicit(&r->posted, memory_order_acquire);
        edge_matmul_job_run(&r->job);
        atomic_store_explicit(&r->done, seen, memory_order_release);
    }
    return NULL;
}

edge_relay *edge_relay_create(int cpu) {
    edge_relay *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cpu = cpu;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void edge_relay_post(edge_relay *r, const edge_matmul_job *job) {
    r->job = *job;
    atomic_fetch_add(&r->posted, 1);   // seq_cst: ordered before the load of `parked` below
    if (atomic_load(&r->parked)) {
        pthread_mutex_lock(&r->lock);
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
    }
}

void edge_relay_wait(edge_relay *r) {
    const uint64_t want = atomic_load_explicit(&r->posted, memory_order_relaxed);
    while (atomic_load_explicit(&r->done, memory_order_acquire) != want) RELAY_PAUSE();
}

void edge_relay_destroy(edge_relay *r) {
    if (!r) return;
    edge_relay_wait(r);
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, 1);
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->wake);
    free(r);
}
