/*
 * Exercises the whole C API, error paths included, on two loopback nodes.
 * Prints one line per check and a final "N passed, N failed" line; exits
 * non-zero when any check failed. Run under valgrind and AddressSanitizer
 * by `make -C bindings-c test`.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rumour.h"

static int passed, failed;

#define CHECK(cond, what)                                                      \
    do {                                                                       \
        if (cond) {                                                            \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            printf("FAILED %s (line %d): %s\n", what, __LINE__,               \
                   rumour_last_error_message());                               \
        }                                                                      \
    } while (0)

struct seen {
    pthread_mutex_t lock;
    int joined, updated, messages, direct, state_changes, left, failed, frees, cluster_joined, gave_up;
    unsigned gave_up_attempts;
    char via[64];
    char gave_up_why[128];
    char last_message[64];
};

static void on_event(const rumour_event *ev, void *user_data) {
    struct seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    switch (ev->kind) {
    case RUMOUR_EVENT_MEMBER_JOINED: s->joined++; break;
    case RUMOUR_EVENT_MEMBER_UPDATED: s->updated++; break;
    case RUMOUR_EVENT_MEMBER_LEFT: s->left++; break;
    case RUMOUR_EVENT_MEMBER_FAILED: s->failed++; break;
    case RUMOUR_EVENT_MESSAGE:
        s->messages++;
        if (ev->message_kind == RUMOUR_MESSAGE_DIRECT) s->direct++;
        if (ev->data_len < sizeof s->last_message) {
            memcpy(s->last_message, ev->data, ev->data_len);
            s->last_message[ev->data_len] = 0;
        }
        break;
    case RUMOUR_EVENT_STATE_CHANGED: s->state_changes++; break;
    case RUMOUR_EVENT_JOINED:
        s->cluster_joined++;
        if (ev->via && strlen(ev->via) < sizeof s->via) strcpy(s->via, ev->via);
        break;
    case RUMOUR_EVENT_JOIN_GAVE_UP:
        s->gave_up++;
        s->gave_up_attempts = ev->attempts;
        if (ev->failures && strlen(ev->failures) < sizeof s->gave_up_why) strcpy(s->gave_up_why, ev->failures);
        break;
    default: break;
    }
    pthread_mutex_unlock(&s->lock);
}

static void on_free(void *user_data) {
    struct seen *s = user_data;
    pthread_mutex_lock(&s->lock);
    s->frees++;
    pthread_mutex_unlock(&s->lock);
}

static int get(struct seen *s, int *field) {
    pthread_mutex_lock(&s->lock);
    int v = *field;
    pthread_mutex_unlock(&s->lock);
    return v;
}

/* Polls until *field >= want, up to 10 s. */
static int wait_for(struct seen *s, int *field, int want) {
    for (int i = 0; i < 500; i++) {
        if (get(s, field) >= want) return 1;
        usleep(20000);
    }
    return 0;
}

static rumour_config *local_config(const char *name) {
    rumour_config *c = NULL;
    if (rumour_config_new("local", &c) != RUMOUR_OK) return NULL;
    rumour_config_set_string(c, "name", name);
    rumour_config_set_string(c, "bind", "127.0.0.1:0");
    rumour_config_set_number(c, "retransmit_mult", 4);
    return c;
}

/* Whether the last error message mentions `what`. */
static int named(const char *what) { return strstr(rumour_last_error_message(), what) != NULL; }

/* How often `needle` occurs in `hay`. */
static int count_of(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Parses the Prometheus text format as a scraper would: `# HELP`/`# TYPE`
   comments, then `name{labels} value` lines whose value is a number.
   Returns the number of sample lines, or -1 at the first bad line. */
static int parse_metrics(const char *text) {
    int samples = 0;
    const char *line = text;
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        if (end == NULL) return -1; /* every line ends with a newline */
        if (line[0] == '#') {
            if (strncmp(line, "# HELP ", 7) != 0 && strncmp(line, "# TYPE ", 7) != 0) return -1;
        } else {
            const char *brace = memchr(line, '{', (size_t)(end - line));
            const char *close = memchr(line, '}', (size_t)(end - line));
            if (brace == NULL || close == NULL || close < brace || close[1] != ' ') return -1;
            char *after = NULL;
            strtod(close + 2, &after);
            if (after != end) return -1;
            samples++;
        }
        line = end + 1;
    }
    return samples;
}

/* A port free on 127.0.0.1 for TCP right now (the OS's pick, released). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Sends one datagram that is no memberlist message to `addr`
 * ("127.0.0.1:port"); true when it left. */
static int send_garbage(const char *addr) {
    const char *colon = strrchr(addr, ':');
    if (colon == NULL) return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return 0;
    const char junk[] = "\xffnot a memberlist packet";
    ssize_t sent = sendto(fd, junk, sizeof junk, 0, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
    return sent == (ssize_t)sizeof junk;
}

/* Seeds that keep working: a node whose seed is down starts anyway,
 * rumour_node_joined times out, then answers once the seed is up; a node
 * that gives up reports RUMOUR_ERR_JOIN; bad values are refused. */
static void seeds_test(void) {
    char seed[32], via[64];
    int port = free_port();
    CHECK(port > 0, "a free port");
    snprintf(seed, sizeof seed, "127.0.0.1:%d", port);

    /* Bad values: each refused with its field named, the config left as it
     * was (so the next setter, and a start, still work). */
    rumour_config *bad = local_config("c-bad");
    CHECK(rumour_config_set_number(bad, "retry_join_interval", 0) == RUMOUR_ERR_CONFIG, "zero retry interval");
    CHECK(named("retry_join_interval"), "the message names retry_join_interval");
    CHECK(rumour_config_set_number(bad, "retry_join_max_interval", 500) == RUMOUR_ERR_CONFIG,
          "a cap below the interval");
    CHECK(named("retry_join_max_interval"), "the message names retry_join_max_interval");
    CHECK(rumour_config_set_number(bad, "retry_join_interval", 60000) == RUMOUR_ERR_CONFIG,
          "an interval above the default cap, alone");
    CHECK(rumour_config_set_retry_join(bad, 60000, 120000, 5) == RUMOUR_OK, "interval and cap together");
    CHECK(rumour_config_set_retry_join(bad, 0, 1000, 0) == RUMOUR_ERR_CONFIG && named("retry_join_interval"),
          "set_retry_join: zero interval");
    CHECK(rumour_config_set_retry_join(bad, 2000, 1000, 0) == RUMOUR_ERR_CONFIG && named("retry_join_max_interval"),
          "set_retry_join: cap below the interval");
    CHECK(rumour_config_set_retry_join(NULL, 1000, 1000, 0) == RUMOUR_ERR_NULL, "set_retry_join: NULL config");
    CHECK(rumour_config_set_number(bad, "retry_join_max_attempts", 1ULL << 32) == RUMOUR_ERR_CONFIG &&
              named("retry_join_max_attempts"),
          "max attempts past 32 bits");
    CHECK(rumour_config_set_number(bad, "gossip_to_seeds", 2) == RUMOUR_ERR_CONFIG && named("gossip_to_seeds"),
          "gossip_to_seeds is a flag");
    CHECK(rumour_config_set_number(bad, "gossip_to_seeds", 0) == RUMOUR_OK, "gossip_to_seeds off");
    CHECK(rumour_config_set_number(bad, "tcp_reserved_for_members", 256) == RUMOUR_ERR_CONFIG &&
              named("tcp_reserved_for_members"),
          "reserved places must leave room for others");
    CHECK(rumour_config_set_number(bad, "tcp_first_byte_timeout", 0) == RUMOUR_ERR_CONFIG &&
              named("tcp_first_byte_timeout"),
          "zero first-byte deadline");
    CHECK(rumour_config_set_number(bad, "tcp_max_incoming", 512) == RUMOUR_OK &&
              rumour_config_set_number(bad, "tcp_max_incoming_per_source", 8) == RUMOUR_OK &&
              rumour_config_set_number(bad, "tcp_first_byte_timeout", 500) == RUMOUR_OK,
          "admission limits set");
    CHECK(rumour_config_set_string(bad, "name", NULL) == RUMOUR_ERR_NULL && named("name"), "NULL name");
    CHECK(rumour_config_set_string(bad, "no_such_field", NULL) == RUMOUR_ERR_INVALID_ARGUMENT &&
              named("no_such_field"),
          "unknown field, NULL value");
    CHECK(rumour_config_set_string(bad, "peers_file", "") == RUMOUR_ERR_CONFIG && named("peers_file"),
          "empty peers file");
    rumour_node *b = NULL;
    CHECK(rumour_node_start(bad, NULL, NULL, NULL, &b) == RUMOUR_OK, "the refused values left the config valid");
    CHECK(rumour_node_joined(b, 0, via, sizeof via) == RUMOUR_ERR_TIMEOUT, "no seeds: not joined");
    rumour_node_free(b);
    rumour_config_free(bad);

    struct seen sw = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct seen ss = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rumour_config *cw = local_config("c-early");
    CHECK(rumour_config_add_seed(cw, seed) == RUMOUR_OK, "seed");
    char dir[] = "/tmp/rumour-c-peers-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "a temporary directory");
    CHECK(rumour_config_set_string(cw, "peers_file", dir) == RUMOUR_OK, "a peers file that is a directory");
    /* The same file set, then unset with NULL: that node keeps no file. */
    rumour_config *cu = local_config("c-no-file");
    CHECK(rumour_config_set_string(cu, "peers_file", dir) == RUMOUR_OK &&
              rumour_config_set_string(cu, "peers_file", NULL) == RUMOUR_OK,
          "a peers file unset");
    rumour_node *u = NULL;
    CHECK(rumour_node_start(cu, NULL, NULL, NULL, &u) == RUMOUR_OK, "start without a peers file");
    rumour_config_free(cu);
    rumour_node *w = NULL;
    CHECK(rumour_node_start(cw, on_event, &sw, on_free, &w) == RUMOUR_OK, "start before the seed");
    rumour_config_free(cw);
    strcpy(via, "untouched");
    CHECK(rumour_node_joined(w, 300, via, sizeof via) == RUMOUR_ERR_TIMEOUT, "joined times out");
    CHECK(strcmp(via, "untouched") == 0, "via not written on a timeout");
    rumour_config *cs = local_config("c-seed");
    rumour_config_set_string(cs, "bind", seed);
    rumour_node *s = NULL;
    CHECK(rumour_node_start(cs, on_event, &ss, on_free, &s) == RUMOUR_OK, "start the seed");
    rumour_config_free(cs);
    CHECK(rumour_node_joined(w, 10000, via, 4) == RUMOUR_ERR_INVALID_ARGUMENT, "via buffer too small");
    CHECK(rumour_node_joined(w, 10000, via, sizeof via) == RUMOUR_OK, "joined once the seed is up");
    CHECK(strcmp(via, seed) == 0, "via is the seed");
    CHECK(rumour_node_joined(w, 0, NULL, 0) == RUMOUR_OK, "joined answers at once now");
    CHECK(wait_for(&sw, &sw.cluster_joined, 1), "a JOINED event");
    pthread_mutex_lock(&sw.lock);
    CHECK(strcmp(sw.via, seed) == 0, "the event's via");
    pthread_mutex_unlock(&sw.lock);
    rumour_stats st;
    CHECK(rumour_node_stats(w, &st) == RUMOUR_OK && st.join_attempts >= 1 && st.peers_file_errors >= 1,
          "join attempts and peer file errors counted");
    CHECK(rumour_node_stats(u, &st) == RUMOUR_OK && st.peers_file_errors == 0, "no file, no peer file errors");
    rumour_node_free(u);
    rumour_node_free(w);
    rumour_node_free(s);
    rmdir(dir);

    struct seen sq = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rumour_config *cq = local_config("c-quitter");
    rumour_config_add_seed(cq, "127.0.0.1:1");
    CHECK(rumour_config_set_retry_join(cq, 50, 100, 2) == RUMOUR_OK, "retry twice, quickly");
    rumour_node *q = NULL;
    CHECK(rumour_node_start(cq, on_event, &sq, on_free, &q) == RUMOUR_OK, "start a node that will give up");
    rumour_config_free(cq);
    CHECK(rumour_node_joined(q, 10000, via, sizeof via) == RUMOUR_ERR_JOIN, "gave up");
    CHECK(named("127.0.0.1:1"), "the message names the seed");
    strcpy(via, "untouched");
    CHECK(rumour_node_joined(q, 0, via, sizeof via) == RUMOUR_ERR_JOIN && strcmp(via, "untouched") == 0,
          "still gave up; via not written");
    rumour_stats qs;
    CHECK(rumour_node_stats(q, &qs) == RUMOUR_OK && qs.join_attempts == 2, "two join attempts");
    /* The callback is told too, once, with the attempts and the reasons. */
    CHECK(wait_for(&sq, &sq.gave_up, 1), "a RUMOUR_EVENT_JOIN_GAVE_UP event");
    pthread_mutex_lock(&sq.lock);
    CHECK(sq.gave_up == 1 && sq.gave_up_attempts == 2 && strstr(sq.gave_up_why, "127.0.0.1:1 (") != NULL,
          "gave up after 2 attempts, naming the seed and why");
    pthread_mutex_unlock(&sq.lock);
    CHECK(rumour_node_joined(NULL, 0, NULL, 0) == RUMOUR_ERR_NULL, "NULL node");
    rumour_node_free(q);
}

/* What a batch callback saw: the calls, the largest batch, and the state
   keys in the order they came. The first call waits until `released`. */
struct batches {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int released, calls, largest, bad_count, keys, in_order, frees;
};

static void on_batch(const rumour_event *events, size_t count, void *user_data) {
    struct batches *b = user_data;
    pthread_mutex_lock(&b->lock);
    if (b->calls == 0) {
        while (!b->released) pthread_cond_wait(&b->cond, &b->lock);
    }
    b->calls++;
    if (count == 0 || count > 1024) b->bad_count++;
    if ((int)count > b->largest) b->largest = (int)count;
    for (size_t i = 0; i < count; i++) {
        if (events[i].kind != RUMOUR_EVENT_STATE_CHANGED) continue;
        char want[16];
        snprintf(want, sizeof want, "k/%d", b->keys);
        if (strcmp(events[i].key, want) != 0) b->in_order = 0;
        b->keys++;
    }
    pthread_mutex_unlock(&b->lock);
}

static void on_batches_free(void *user_data) {
    struct batches *b = user_data;
    pthread_mutex_lock(&b->lock);
    b->frees++;
    pthread_mutex_unlock(&b->lock);
}

/* rumour_node_start_batched: 500 writes made while the callback is held
   on its first call arrive in a few calls, every key once, in order;
   user_data_free runs once, also when the start fails. */
static void batch_test(void) {
    struct batches b = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .in_order = 1};
    rumour_config *c = local_config("c-batch");
    rumour_node *n = NULL;
    CHECK(rumour_node_start_batched(c, on_batch, &b, on_batches_free, &n) == RUMOUR_OK, "start batched");
    rumour_config_free(c);
    for (int i = 0; i < 500; i++) {
        char key[16];
        snprintf(key, sizeof key, "k/%d", i);
        if (rumour_node_state_put(n, key, (const uint8_t *)"v", 1, RUMOUR_UNTIL_DELETED, 0, NULL) != RUMOUR_OK) {
            CHECK(0, "batched write");
            break;
        }
    }
    pthread_mutex_lock(&b.lock);
    b.released = 1;
    pthread_cond_broadcast(&b.cond);
    pthread_mutex_unlock(&b.lock);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&b.lock);
        int keys = b.keys;
        pthread_mutex_unlock(&b.lock);
        if (keys >= 500) break;
        usleep(20000);
    }
    CHECK(rumour_node_shutdown(n) == RUMOUR_OK, "shutdown batched");
    CHECK(b.keys == 500, "every write arrives in a batch");
    CHECK(b.in_order, "in the order written");
    CHECK(b.largest > 1 && b.calls < 10, "what queued while the callback was held came in few calls");
    CHECK(b.bad_count == 0, "1 to 1024 events a call");
    rumour_node_free(n);
    CHECK(b.frees == 1, "batched user_data freed once");

    struct batches f = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    rumour_config *cf = local_config("c-batch-bad");
    CHECK(rumour_node_start_batched(cf, on_batch, &f, on_batches_free, NULL) == RUMOUR_ERR_NULL, "batched NULL out");
    CHECK(f.frees == 1, "batched user_data freed when start fails");
    rumour_config_free(cf);
}

int main(void) {
    printf("rumour %s\n", rumour_version());
    CHECK(strlen(rumour_version()) > 0, "version");

    /* Config errors. */
    rumour_config *bad = NULL;
    CHECK(rumour_config_new("moon", &bad) == RUMOUR_ERR_INVALID_ARGUMENT, "unknown preset");
    CHECK(strstr(rumour_last_error_message(), "moon") != NULL, "the message names the preset");
    CHECK(rumour_config_new(NULL, &bad) == RUMOUR_ERR_NULL, "NULL preset");
    CHECK(rumour_config_new("lan", NULL) == RUMOUR_ERR_NULL, "NULL out");
    CHECK(rumour_config_new("lan", &bad) == RUMOUR_OK, "lan preset");
    CHECK(rumour_config_set_number(bad, "probe_interval", 0) == RUMOUR_ERR_CONFIG, "zero probe interval");
    CHECK(strstr(rumour_last_error_message(), "probe_interval") != NULL, "the message names the field");
    CHECK(rumour_config_set_number(bad, "nonsense", 1) == RUMOUR_ERR_INVALID_ARGUMENT, "unknown field");
    CHECK(rumour_config_set_number(bad, "enable_compression", 7) == RUMOUR_ERR_CONFIG, "flag out of range");
    const char bad_utf8[] = {'n', (char)0xff, 0};
    CHECK(rumour_config_set_string(bad, "name", bad_utf8) == RUMOUR_ERR_INVALID_ARGUMENT, "bad UTF-8");
    unsigned char big[600] = {0};
    CHECK(rumour_config_set_meta(bad, big, sizeof big) == RUMOUR_ERR_CONFIG, "meta too large");
    CHECK(rumour_config_set_meta(bad, NULL, 4) == RUMOUR_ERR_NULL, "NULL meta with a length");
    CHECK(rumour_config_add_key(bad, big, 5) == RUMOUR_ERR_CONFIG, "bad key size");
    CHECK(rumour_config_set_string(NULL, "name", "x") == RUMOUR_ERR_NULL, "NULL config");
    rumour_config_free(bad);
    rumour_config_free(NULL);

    /* Two nodes. */
    struct seen sa = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct seen sb = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rumour_config *ca = local_config("c-a"), *cb = local_config("c-b");
    CHECK(ca && cb, "configs");
    rumour_node *a = NULL, *b = NULL;
    CHECK(rumour_node_start(ca, on_event, &sa, on_free, &a) == RUMOUR_OK, "start a");
    CHECK(rumour_node_start(cb, on_event, &sb, on_free, &b) == RUMOUR_OK, "start b");
    rumour_config_free(ca);
    rumour_config_free(cb);
    CHECK(strcmp(rumour_node_name(a), "c-a") == 0, "name");
    const char *seeds[] = {rumour_node_addr(a)};
    size_t answered = 0;
    CHECK(rumour_node_join(b, seeds, 1, &answered) == RUMOUR_OK && answered == 1, "join");
    CHECK(wait_for(&sa, &sa.joined, 1), "a sees b join");

    rumour_members *ms = NULL;
    CHECK(rumour_node_members(a, &ms) == RUMOUR_OK, "members");
    CHECK(rumour_members_len(ms) == 2, "two members");
    rumour_member_view v;
    CHECK(rumour_members_get(ms, 0, &v) == RUMOUR_OK && v.name && v.addr, "member view");
    CHECK(rumour_members_get(ms, 2, &v) == RUMOUR_ERR_OUT_OF_RANGE, "index past the end");
    rumour_members_free(ms);

    CHECK(rumour_node_set_meta(b, (const uint8_t *)"role=db", 7) == RUMOUR_OK, "set meta");
    CHECK(wait_for(&sa, &sa.updated, 1), "a sees the update");
    CHECK(rumour_node_broadcast(b, (const uint8_t *)"hello", 5) == RUMOUR_OK, "broadcast");
    CHECK(wait_for(&sa, &sa.messages, 1), "a gets the broadcast");
    CHECK(rumour_node_send(b, "c-a", (const uint8_t *)"direct", 6, true) == RUMOUR_OK, "send");
    CHECK(wait_for(&sa, &sa.direct, 1), "a gets the direct message");
    CHECK(rumour_node_send(b, "nobody", (const uint8_t *)"x", 1, false) == RUMOUR_ERR_UNKNOWN_MEMBER, "unknown member");
    CHECK(rumour_node_set_meta(b, big, sizeof big) == RUMOUR_ERR_TOO_LARGE, "meta too large at run time");
    CHECK(rumour_node_broadcast(b, NULL, 3) == RUMOUR_ERR_NULL, "NULL data");
    CHECK(rumour_node_broadcast(NULL, (const uint8_t *)"x", 1) == RUMOUR_ERR_NULL, "NULL node");
    CHECK(rumour_node_install_key(a, big, 3) == RUMOUR_ERR_KEYRING, "bad key at run time");

    /* The replicated map. */
    uint64_t ts = 0;
    CHECK(rumour_node_state_put(a, "svc/web", (const uint8_t *)"10.0.0.1", 8, RUMOUR_UNTIL_DELETED, 0, &ts) == RUMOUR_OK && ts > 0,
          "state put");
    CHECK(wait_for(&sb, &sb.state_changes, 1), "b sees the write");
    uint8_t *value = NULL;
    size_t len = 0;
    CHECK(rumour_node_state_get(b, "svc/web", &value, &len) == RUMOUR_OK && len == 8 && memcmp(value, "10.0.0.1", 8) == 0,
          "state get");
    rumour_bytes_free(value, len);
    CHECK(rumour_node_state_get(b, "absent", &value, &len) == RUMOUR_ERR_NOT_FOUND, "absent key");
    CHECK(rumour_node_state_put(a, "", (const uint8_t *)"v", 1, RUMOUR_UNTIL_DELETED, 0, NULL) == RUMOUR_ERR_STATE, "empty key");
    CHECK(rumour_node_state_put(a, "t", (const uint8_t *)"v", 1, RUMOUR_TTL, 0, NULL) == RUMOUR_ERR_STATE, "zero ttl");
    CHECK(rumour_node_state_put(a, "e", (const uint8_t *)"v", 1, RUMOUR_EPHEMERAL, 0, NULL) == RUMOUR_OK, "ephemeral put");
    rumour_entries *es = NULL;
    CHECK(rumour_node_state_entries(a, "", &es) == RUMOUR_OK && rumour_entries_len(es) == 2, "entries");
    rumour_entry_view ev;
    CHECK(rumour_entries_get(es, 0, &ev) == RUMOUR_OK && strcmp(ev.key, "e") == 0 && ev.ephemeral, "first entry");
    CHECK(rumour_entries_get(es, 1, &ev) == RUMOUR_OK && strcmp(ev.key, "svc/web") == 0 && strcmp(ev.writer, "c-a") == 0
              && ev.value_len == 8 && ev.timestamp == ts,
          "second entry");
    CHECK(rumour_entries_get(es, 2, &ev) == RUMOUR_ERR_OUT_OF_RANGE, "entry past the end");
    rumour_entries_free(es);
    CHECK(rumour_node_state_entries(a, "svc/", &es) == RUMOUR_OK && rumour_entries_len(es) == 1, "entries by prefix");
    rumour_entries_free(es);
    rumour_state_summary sum;
    CHECK(rumour_node_state_summary(a, &sum) == RUMOUR_OK && sum.live == 2 && sum.root != 0, "state summary");
    bool deleted = false;
    CHECK(rumour_node_state_delete(a, "svc/web", &deleted) == RUMOUR_OK && deleted, "state delete");
    CHECK(rumour_node_state_delete(a, "svc/web", &deleted) == RUMOUR_OK && !deleted, "delete again");

    rumour_members *one = NULL;
    CHECK(rumour_node_member(a, "c-b", &one) == RUMOUR_OK && rumour_members_len(one) == 1, "member by name");
    CHECK(rumour_members_get(one, 0, &v) == RUMOUR_OK && strcmp(v.name, "c-b") == 0 && v.meta_len == 7, "its view");
    rumour_members_free(one);
    CHECK(rumour_node_member(a, "nobody", &one) == RUMOUR_ERR_NOT_FOUND, "unknown member by name");
    CHECK(rumour_node_local(a, &one) == RUMOUR_OK && rumour_members_get(one, 0, &v) == RUMOUR_OK && strcmp(v.name, "c-a") == 0,
          "local");
    rumour_members_free(one);
    CHECK(rumour_node_set_local_state(a, (const uint8_t *)"s", 1) == RUMOUR_OK, "set local state");

    rumour_stats st;
    CHECK(rumour_node_stats(a, &st) == RUMOUR_OK && st.members == 2 && st.packets_sent > 0, "stats");
    CHECK(st.bytes_sent >= st.packets_sent && st.bytes_received >= st.packets_received && st.packets_received > 0,
          "bytes counted with the packets");
    CHECK(st.callback_panics == 0, "no callback panicked");
    CHECK(st.streams_opened + st.streams_accepted >= 1 && st.msg_alive >= 1,
          "the join's push-pull stream and alive counted");
    /* A garbage datagram shows as a decode error, and the node goes on. */
    CHECK(send_garbage(rumour_node_addr(a)), "a garbage datagram sent");
    st.decode_errors = 0;
    for (int i = 0; i < 250 && st.decode_errors == 0; i++) {
        if (i > 0) usleep(20000);
        if (rumour_node_stats(a, &st) != RUMOUR_OK) break;
    }
    CHECK(st.decode_errors == 1, "the garbage counted as one decode error");

    /* The digests agree once the write above reached b (anti-entropy at the latest). */
    uint64_t da = 0, db = 1;
    rumour_status digest_status = RUMOUR_OK;
    for (int i = 0; i < 250 && da != db && digest_status == RUMOUR_OK; i++) {
        if (i > 0) usleep(20000);
        digest_status = rumour_node_digest(a, &da);
        if (digest_status == RUMOUR_OK) digest_status = rumour_node_digest(b, &db);
    }
    CHECK(digest_status == RUMOUR_OK && da == db && da != 0, "a and b report the same digest");
    CHECK(rumour_node_digest(a, NULL) == RUMOUR_ERR_NULL, "digest into NULL");

    /* Metrics in the Prometheus text format, one node and both at once. */
    char *text = NULL;
    size_t text_len = 0;
    int one_node_lines = 0;
    CHECK(rumour_node_metrics_text(a, &text, &text_len) == RUMOUR_OK && text != NULL && strlen(text) == text_len,
          "metrics text");
    if (text != NULL) {
        CHECK(strstr(text, "# TYPE memberlist_msg_alive counter\n") != NULL, "a TYPE line");
        CHECK(strstr(text, "memberlist_node_instances{node=\"c-a\",node_state=\"alive\"} 2\n") != NULL,
              "two alive members by node_state");
        CHECK(strstr(text, "memberlist_probeNode_bucket{node=\"c-a\",le=\"+Inf\"} ") != NULL, "a histogram");
        one_node_lines = parse_metrics(text);
        CHECK(one_node_lines > 90, "every sample line parses");
        rumour_string_free(text);
    }
    const rumour_node *both[2] = {a, b};
    CHECK(rumour_metrics_text(both, 2, &text, &text_len) == RUMOUR_OK, "metrics text of two nodes");
    if (text != NULL) {
        CHECK(count_of(text, "# TYPE memberlist_udp_sent counter\n") == 1, "one TYPE line per metric");
        CHECK(strstr(text, "memberlist_udp_sent_total{node=\"c-a\"} ") != NULL &&
                  strstr(text, "memberlist_udp_sent_total{node=\"c-b\"} ") != NULL,
              "a sample per node");
        CHECK(parse_metrics(text) == 2 * one_node_lines, "both nodes' lines parse, as many for each");
        rumour_string_free(text);
    }
    CHECK(rumour_node_metrics_text(a, NULL, &text_len) == RUMOUR_ERR_NULL, "metrics into NULL");
    const rumour_node *with_null[2] = {a, NULL};
    CHECK(rumour_metrics_text(with_null, 2, &text, &text_len) == RUMOUR_ERR_NULL && named("nodes[1]"),
          "a NULL node in the array is named");
    rumour_string_free(NULL);

    /* Leave, shutdown, free; the finalizers run once each. */
    CHECK(rumour_node_leave(b, 2000) == RUMOUR_OK, "leave");
    CHECK(wait_for(&sa, &sa.left, 1), "a sees b leave");
    CHECK(rumour_node_shutdown(b) == RUMOUR_OK, "shutdown b");
    CHECK(rumour_node_shutdown(b) == RUMOUR_OK, "shutdown twice");
    CHECK(get(&sb, &sb.frees) == 1, "b's user_data freed once, at shutdown");
    CHECK(rumour_node_broadcast(b, (const uint8_t *)"x", 1) == RUMOUR_ERR_SHUT_DOWN, "shut down node");
    CHECK(rumour_node_metrics_text(b, &text, &text_len) == RUMOUR_ERR_SHUT_DOWN, "no metrics from a shut down node");
    CHECK(rumour_metrics_text(both, 2, &text, &text_len) == RUMOUR_OK && strstr(text, "node=\"c-b\"") == NULL &&
              strstr(text, "node=\"c-a\"") != NULL,
          "a scrape of both leaves the shut down node out");
    rumour_string_free(text);
    rumour_node_free(b);
    rumour_node_free(a);
    CHECK(get(&sa, &sa.frees) == 1, "a's user_data freed once");
    rumour_node_free(NULL);

    /* A failed start still frees user_data, once. */
    struct seen sc = {.lock = PTHREAD_MUTEX_INITIALIZER};
    rumour_config *cc = local_config("c-c");
    rumour_config_set_string(cc, "bind", "no-such-host.invalid:1");
    rumour_node *c = NULL;
    CHECK(rumour_node_start(cc, on_event, &sc, on_free, &c) == RUMOUR_ERR_CONFIG && c == NULL, "bad bind address");
    CHECK(get(&sc, &sc.frees) == 1, "user_data freed when start fails");
    rumour_config_free(cc);

    seeds_test();
    batch_test();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
