/* The C peer of the polyglot test (protocol: README.md). */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumour.h"

static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;

static void on_event(const rumour_event *ev, void *user_data) {
    (void)user_data;
    pthread_mutex_lock(&out);
    switch (ev->kind) {
    case RUMOUR_EVENT_MEMBER_JOINED: printf("joined %s\n", ev->member.name); break;
    case RUMOUR_EVENT_MEMBER_FAILED: printf("failed %s\n", ev->member.name); break;
    case RUMOUR_EVENT_MEMBER_LEFT: printf("left %s\n", ev->member.name); break;
    case RUMOUR_EVENT_MEMBER_UPDATED:
        printf("updated %s %.*s\n", ev->member.name, (int)ev->member.meta_len, (const char *)ev->member.meta);
        break;
    case RUMOUR_EVENT_MESSAGE:
        printf("message %s %.*s\n", ev->from ? ev->from : "?", (int)ev->data_len, (const char *)ev->data);
        break;
    default: break;
    }
    fflush(stdout);
    pthread_mutex_unlock(&out);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    rumour_config *config = NULL;
    rumour_config_new("local", &config);
    rumour_config_set_string(config, "name", argv[1]);
    rumour_config_set_string(config, "bind", "127.0.0.1:0");
    rumour_config_set_number(config, "retransmit_mult", 4);
    rumour_node *node = NULL;
    if (rumour_node_start(config, on_event, NULL, NULL, &node) != RUMOUR_OK) {
        fprintf(stderr, "start: %s\n", rumour_last_error_message());
        return 1;
    }
    rumour_config_free(config);
    if (strcmp(argv[2], "-") != 0) {
        const char *seeds[] = {argv[2]};
        if (rumour_node_join(node, seeds, 1, NULL) != RUMOUR_OK) {
            fprintf(stderr, "join: %s\n", rumour_last_error_message());
            return 1;
        }
    }
    pthread_mutex_lock(&out);
    printf("ready %s\n", rumour_node_addr(node));
    fflush(stdout);
    pthread_mutex_unlock(&out);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *arg = strchr(line, ' ');
        if (arg) *arg++ = 0; else arg = "";
        if (strcmp(line, "members") == 0) {
            rumour_members *ms = NULL;
            rumour_node_members(node, &ms);
            size_t n = rumour_members_len(ms), k = 0;
            const char **names = calloc(n ? n : 1, sizeof *names);
            for (size_t i = 0; i < n; i++) {
                rumour_member_view v;
                if (rumour_members_get(ms, i, &v) == RUMOUR_OK && v.state == RUMOUR_MEMBER_ALIVE) names[k++] = v.name;
            }
            qsort(names, k, sizeof *names, cmp);
            pthread_mutex_lock(&out);
            printf("members ");
            for (size_t i = 0; i < k; i++) printf("%s%s", i ? "," : "", names[i]);
            printf("\n");
            fflush(stdout);
            pthread_mutex_unlock(&out);
            free(names);
            rumour_members_free(ms);
        } else if (strcmp(line, "broadcast") == 0) {
            rumour_node_broadcast(node, (const uint8_t *)arg, strlen(arg));
        } else if (strcmp(line, "meta") == 0) {
            rumour_node_set_meta(node, (const uint8_t *)arg, strlen(arg));
        } else if (strcmp(line, "meta_of") == 0) {
            rumour_members *ms = NULL;
            rumour_node_members(node, &ms);
            const char *meta = "";
            int len = 0;
            for (size_t i = 0; i < rumour_members_len(ms); i++) {
                rumour_member_view v;
                if (rumour_members_get(ms, i, &v) == RUMOUR_OK && strcmp(v.name, arg) == 0) {
                    meta = (const char *)v.meta;
                    len = (int)v.meta_len;
                }
            }
            pthread_mutex_lock(&out);
            printf("meta_of %s %.*s\n", arg, len, meta);
            fflush(stdout);
            pthread_mutex_unlock(&out);
            rumour_members_free(ms);
        } else if (strcmp(line, "quit") == 0) {
            break;
        }
    }
    rumour_node_shutdown(node);
    rumour_node_free(node);
    return 0;
}
