// Packs kept across calls (parity_kept_packs): one per instruction-set level, made on first use.
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

struct parity_kept_packs {
    pthread_mutex_t lock;
    struct kept_pack *kept[3];  // per level; never replaced or freed before the packs
};

parity_kept_packs *parity_kept_packs_create(void) {
    parity_kept_packs *packs = calloc(1, sizeof *packs);
    if (!packs || pthread_mutex_init(&packs->lock, NULL)) abort();
    return packs;
}

void parity_kept_packs_destroy(parity_kept_packs *packs) {
    if (!packs) return;
    for (int l = 0; l < 3; l++) {
        if (packs->kept[l]) free(packs->kept[l]->data);
        free(packs->kept[l]);
    }
    pthread_mutex_destroy(&packs->lock);
    free(packs);
}

struct kept_bytes_source {
    void (*fill)(void *, void *);
    void *context;
};
static long kept_bytes_width(parity_isa level, long columns) {
    (void)level;
    return columns;
}
static void kept_bytes_fill(struct kept_pack *pack, const void *source) {
    const struct kept_bytes_source *s = (const struct kept_bytes_source *)source;
    s->fill(pack->data, s->context);
}

const void *parity_kept_bytes(parity_kept_packs *packs, const void *key, size_t key_size, long bytes,
                              void (*fill)(void *data, void *context), void *context) {
    if (!packs || bytes <= 0) return NULL;
    struct kept_bytes_source source = {fill, context};
    const struct kept_pack *kept = kept_pack_get(packs, key, key_size, 1, 1, bytes, kept_bytes_width, kept_bytes_fill, &source);
    return kept ? kept->data : NULL;
}

const struct kept_pack *kept_pack_get(parity_kept_packs *packs, const void *key, size_t key_size, long element, long rows,
                                      long columns, long (*width_of)(parity_isa, long),
                                      void (*fill)(struct kept_pack *, const void *), const void *source) {
    parity_isa level = parity_isa_active();
    if ((unsigned)level >= 3 || key_size > sizeof ((struct kept_pack *)0)->key) return NULL;
    pthread_mutex_lock(&packs->lock);
    struct kept_pack *kept = packs->kept[level];
    if (!kept) {
        kept = calloc(1, sizeof *kept);
        if (!kept) abort();
        memcpy(kept->key, key, key_size);
        kept->key_size = key_size;
        kept->level = level;
        kept->width = width_of(level, columns);
        size_t bytes = (size_t)element * (size_t)rows * (size_t)kept->width;
        kept->data = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!kept->data) abort();
        fill(kept, source);
        packs->kept[level] = kept;
    }
    pthread_mutex_unlock(&packs->lock);
    return kept->key_size == key_size && !memcmp(kept->key, key, key_size) ? kept : NULL;
}
