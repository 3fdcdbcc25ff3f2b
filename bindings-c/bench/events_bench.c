/*
 * Events per second delivered to a C callback, one event a call
 * (rumour_node_start) against a batch a call (rumour_node_start_batched),
 * with the producer in another process: bindings-python/benches/flood.py
 * (standard-library Python) sends EVENTS memberlist user messages over UDP,
 * 200 to a packet, paced at OFFER a second; by default 2,000,000 unpaced
 * (OFFER=0), since a C callback takes more than the 400,000 a second the
 * Python and Node benchmarks offer, so only a flood finds its limit (then
 * the node's receive path, sharing 2 cores with the producer, is most of
 * it). The rate is the messages
 * delivered between the first and the last, over that time; the bounded
 * queue counts what did not fit (RUMOUR_EVENT_EVENTS_LOST). Each figure is
 * the median of RUNS runs; prints a table and writes
 * target/bench/c_events.json. Built and run by `make -C bindings-c bench`.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rumour.h"

static long events_total = 2000000;
static double offer = 0;

struct tally {
    pthread_mutex_t lock;
    long got, lost;
    double first, last;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The work a consumer does per event: count it. Called with the lock held. */
static void see(struct tally *t, const rumour_event *ev) {
    if (ev->kind == RUMOUR_EVENT_MESSAGE) t->got++;
    else if (ev->kind == RUMOUR_EVENT_EVENTS_LOST) t->lost += (long)ev->lost;
    else return;
    t->last = now();
    if (t->first == 0) t->first = t->last;
}

static void on_event(const rumour_event *ev, void *user_data) {
    struct tally *t = user_data;
    pthread_mutex_lock(&t->lock);
    see(t, ev);
    pthread_mutex_unlock(&t->lock);
}

static void on_batch(const rumour_event *events, size_t count, void *user_data) {
    struct tally *t = user_data;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < count; i++) see(t, &events[i]);
    pthread_mutex_unlock(&t->lock);
}

/* One run; returns events/s and adds to *lost. */
static double run(const char *flood, int batched, long *lost) {
    struct tally t = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rumour_config *c = NULL;
    rumour_node *n = NULL;
    if (rumour_config_new("lan", &c) != RUMOUR_OK) exit(2);
    rumour_config_set_string(c, "name", batched ? "bench-batch" : "bench-each");
    rumour_config_set_string(c, "bind", "127.0.0.1:0");
    rumour_status started = batched ? rumour_node_start_batched(c, on_batch, &t, NULL, &n)
                                    : rumour_node_start(c, on_event, &t, NULL, &n);
    rumour_config_free(c);
    if (started != RUMOUR_OK) {
        fprintf(stderr, "start: %s\n", rumour_last_error_message());
        exit(2);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 %s %s %ld %.0f", flood, rumour_node_addr(n), events_total, offer);
    FILE *producer = popen(cmd, "r");
    if (producer == NULL) exit(2);
    for (;;) {
        usleep(50000);
        pthread_mutex_lock(&t.lock);
        int done = t.got + t.lost >= events_total || (t.last > 0 && now() - t.last > 2.0);
        pthread_mutex_unlock(&t.lock);
        if (done) break;
    }
    char report[256] = {0};
    if (fgets(report, sizeof report, producer) == NULL) report[0] = 0;
    pclose(producer);
    rumour_node_shutdown(n);
    rumour_node_free(n);
    *lost += t.lost;
    return t.last > t.first ? (double)t.got / (t.last - t.first) : 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FLOOD_PY OUT_JSON\n", argv[0]);
        return 2;
    }
    int runs = getenv("RUNS") ? atoi(getenv("RUNS")) : 3;
    if (runs < 1 || runs > 64) runs = 3;
    if (getenv("EVENTS")) events_total = atol(getenv("EVENTS"));
    if (getenv("OFFER")) offer = atof(getenv("OFFER"));
    double rates[2][64];
    long lost[2] = {0, 0};
    for (int r = 0; r < runs; r++) {
        for (int batched = 0; batched < 2; batched++) rates[batched][r] = run(argv[1], batched, &lost[batched]);
    }
    char cpu[128] = "unknown";
    FILE *info = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (info && fgets(line, sizeof line, info)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) snprintf(cpu, sizeof cpu, "%s", v + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    }
    if (info) fclose(info);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *labels[2] = {"rumour_node_start (one event a call)", "rumour_node_start_batched (a batch a call)"};
    const char *keys[2] = {"each", "batch"};
    double med[2];
    printf("\nbench-c  runs=%d events=%ld offered=%.0f/s (0: unpaced; flood.py, another process) preset=lan  machine: %s, %ld cores\n",
           runs, events_total, offer, cpu, cores);
    printf("| events/s delivered to | median | runs | lost (EVENTS_LOST) |\n|---|---|---|---|\n");
    for (int k = 0; k < 2; k++) {
        double sorted[64];
        memcpy(sorted, rates[k], sizeof(double) * (size_t)runs);
        qsort(sorted, (size_t)runs, sizeof(double), by_value);
        med[k] = sorted[runs / 2];
        printf("| %s | %.0f | ", labels[k], med[k]);
        for (int r = 0; r < runs; r++) printf("%s%.0f", r ? ", " : "", rates[k][r]);
        printf(" | %ld |\n", lost[k]);
    }
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) return 1;
    fprintf(out, "{\"bench\": \"c_events\", \"runs\": %d, \"events\": %ld, \"offered_eps\": %.0f, ", runs, events_total, offer);
    fprintf(out, "\"producer\": \"bindings-python/benches/flood.py in a child process\", \"preset\": \"lan\", \"median_eps\": {");
    for (int k = 0; k < 2; k++) fprintf(out, "%s\"%s\": %.0f", k ? ", " : "", keys[k], med[k]);
    fprintf(out, "}, \"lost\": {\"each\": %ld, \"batch\": %ld}, \"machine\": \"%s, %ld cores\"}\n", lost[0], lost[1], cpu, cores);
    fclose(out);
    return 0;
}
