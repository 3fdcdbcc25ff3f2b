/*
 * One rumour node per process, printing what it sees.
 *
 *     ./node NAME PORT [SEED] [SECONDS]
 *
 * e.g. in two terminals:  ./node a 7946   and   ./node b 7947 127.0.0.1:7946
 * Build against an installed librumour:
 *     cc node.c -o node $(pkg-config --cflags --libs rumour)
 * It broadcasts a greeting, prints every event, and after SECONDS (default
 * 5) leaves and shuts down.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rumour.h>

static const char *kinds[] = {"joined", "updated", "suspect", "recovered", "failed", "left",
                              "message", "state changed", "remote state", "events lost"};

static void on_event(const rumour_event *ev, void *user_data) {
    const char *me = user_data;
    if (ev->kind <= RUMOUR_EVENT_MEMBER_LEFT) {
        printf("%s: %s %s at %s\n", me, kinds[ev->kind], ev->member.name, ev->member.addr);
    } else if (ev->kind == RUMOUR_EVENT_MESSAGE) {
        printf("%s: %s says %.*s\n", me, ev->from ? ev->from : "?", (int)ev->data_len, (const char *)ev->data);
    } else {
        printf("%s: %s\n", me, kinds[ev->kind]);
    }
    fflush(stdout);
}

static int fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, rumour_last_error_message());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s NAME PORT [SEED] [SECONDS]\n", argv[0]);
        return 2;
    }
    char bind[64];
    snprintf(bind, sizeof bind, "127.0.0.1:%s", argv[2]);
    rumour_config *config = NULL;
    if (rumour_config_new("local", &config) != RUMOUR_OK) return fail("config");
    if (rumour_config_set_string(config, "name", argv[1]) != RUMOUR_OK) return fail("name");
    if (rumour_config_set_string(config, "bind", bind) != RUMOUR_OK) return fail("bind");
    rumour_config_set_number(config, "retransmit_mult", 4);
    rumour_node *node = NULL;
    rumour_status started = rumour_node_start(config, on_event, argv[1], NULL, &node);
    rumour_config_free(config);
    if (started != RUMOUR_OK) return fail("start");
    printf("%s: listening on %s\n", argv[1], rumour_node_addr(node));
    fflush(stdout);
    if (argc > 3 && strcmp(argv[3], "-") != 0) {
        const char *seeds[] = {argv[3]};
        if (rumour_node_join(node, seeds, 1, NULL) != RUMOUR_OK) return fail("join");
    }
    char hello[64];
    int n = snprintf(hello, sizeof hello, "hello from %s", argv[1]);
    rumour_node_broadcast(node, (const uint8_t *)hello, (size_t)n);
    sleep(argc > 4 ? (unsigned)atoi(argv[4]) : 5);
    rumour_members *members = NULL;
    if (rumour_node_members(node, &members) == RUMOUR_OK) {
        printf("%s: %zu members\n", argv[1], rumour_members_len(members));
        rumour_members_free(members);
    }
    rumour_node_leave(node, 2000);
    rumour_node_shutdown(node);
    rumour_node_free(node);
    return 0;
}
