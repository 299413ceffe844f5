/* String processing: generate text, split it into words, count them in a chained hash table,
 * and build output lines with snprintf; strlen/memcpy/strcmp and pointer chasing.
 * Usage: strings ROUNDS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096

struct entry {
    struct entry *next;
    long count;
    char word[24];
};

static struct entry *table[BUCKETS];

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void count_word(const char *w, size_t n)
{
    uint32_t h = hash(w, n) % BUCKETS;
    for (struct entry *e = table[h]; e; e = e->next)
        if (strlen(e->word) == n && memcmp(e->word, w, n) == 0) {
            e->count++;
            return;
        }
    struct entry *e = calloc(1, sizeof *e);
    memcpy(e->word, w, n);
    e->count = 1;
    e->next = table[h];
    table[h] = e;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 40;
    static const char *syll[] = {"ka", "lo", "mi", "ne", "ru", "sta", "pho", "qu", "zel", "ix"};
    size_t cap = 1 << 20;
    char *text = malloc(cap + 64);
    uint32_t s = 1;
    size_t len = 0;
    while (len < cap) {
        s = s * 1664525u + 1013904223u;
        int syllables = 1 + (s >> 28) % 4;
        for (int k = 0; k < syllables; k++) {
            s = s * 1664525u + 1013904223u;
            const char *p = syll[(s >> 24) % 10];
            size_t pl = strlen(p);
            memcpy(text + len, p, pl);
            len += pl;
        }
        text[len++] = (s & 0x700) ? ' ' : '\n';
    }
    text[len] = '\0';

    long words = 0, lines = 0;
    char line[128];
    uint64_t out_hash = 0;
    for (long r = 0; r < rounds; r++) {
        const char *p = text;
        while (*p) {
            size_t n = strcspn(p, " \n");
            if (n > 0 && n < sizeof table[0]->word) {
                count_word(p, n);
                words++;
            }
            p += n;
            if (*p == '\n')
                lines++;
            if (*p)
                p++;
        }
        int w = snprintf(line, sizeof line, "round %ld: %ld words, %ld lines", r, words, lines);
        out_hash = out_hash * 131 + hash(line, (size_t)w);
    }
    long distinct = 0, top = 0;
    const char *top_word = "";
    for (int b = 0; b < BUCKETS; b++)
        for (struct entry *e = table[b]; e; e = e->next) {
            distinct++;
            if (e->count > top || (e->count == top && strcmp(e->word, top_word) < 0)) {
                top = e->count;
                top_word = e->word;
            }
        }
    printf("strings rounds=%ld words=%ld distinct=%ld top=%s(%ld) hash=%016llx\n", rounds, words,
           distinct, top_word, top, (unsigned long long)out_hash);
    return 0;
}
