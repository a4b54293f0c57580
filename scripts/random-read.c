// random-read.c — random direct-I/O reads of one file at a request size and queue depth: the
// disk's roofline for reading scattered pieces (feed-forward neurons) instead of a stream.
//
//   cc -O2 scripts/random-read.c -o /tmp/random-read -lpthread
//   /tmp/random-read FILE REQUEST_BYTES IN_FLIGHT READS_PER_THREAD
//
// IN_FLIGHT threads each issue READS_PER_THREAD preads of REQUEST_BYTES (a multiple of 4096) at
// pseudo-random aligned offsets (O_DIRECT: the page cache is not involved) and the total rate is
// printed. The file should be larger than the device's cache (a model file of several GB).
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct { int fd; size_t unit; off_t size; int n; uint64_t seed; int failed; } job;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *worker(void *arg) {
    job *j = arg;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, j->unit) != 0) { j->failed = 1; return NULL; }
    uint64_t s = j->seed;
    const off_t pieces = j->size / (off_t)j->unit;
    for (int i = 0; i < j->n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const off_t at = (off_t)((s >> 16) % (uint64_t)pieces) * (off_t)j->unit;
        if (pread(j->fd, buf, j->unit, at) != (ssize_t)j->unit) { j->failed = 1; break; }
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s FILE REQUEST_BYTES IN_FLIGHT READS_PER_THREAD\n", argv[0]);
        return 2;
    }
    const size_t unit = (size_t)atol(argv[2]);
    const int threads = atoi(argv[3]), n = atoi(argv[4]);
    if (unit == 0 || unit % 4096 != 0 || threads < 1 || threads > 256 || n < 1) {
        fprintf(stderr, "REQUEST_BYTES must be a positive multiple of 4096, IN_FLIGHT 1...256, READS_PER_THREAD positive\n");
        return 2;
    }
    const int fd = open(argv[1], O_RDONLY | O_DIRECT);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)unit) { perror(argv[1]); return 1; }
    pthread_t t[256];
    job jobs[256];
    const double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){ fd, unit, st.st_size, n, (uint64_t)i * 7919 + 1, 0 };
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    int failed = 0;
    for (int i = 0; i < threads; i++) { pthread_join(t[i], NULL); failed |= jobs[i].failed; }
    if (failed) { fprintf(stderr, "a read failed\n"); return 1; }
    const double dt = now() - t0, reads = (double)threads * n;
    printf("request %7zu B, %3d in flight: %8.0f reads/s, %8.1f MB/s\n", unit, threads, reads / dt, reads * (double)unit / dt / 1e6);
    return 0;
}
