/*
 * arena.h -- a bump allocator for memory that dies all at once
 *
 * Parsing one e-mail makes many small strings that all become garbage
 * together. An arena hands them out from big blocks and forgets them
 * all in arena_reset(), which keeps the blocks for the next message: in
 * the steady state a parser allocates nothing from malloc.
 *
 * Everything returned by arena_alloc() and friends is owned by the
 * arena and valid until the next arena_reset() or arena_free(). Like
 * xmalloc(), these never return NULL.
 */
#ifndef BOUNCER_ARENA_H
#define BOUNCER_ARENA_H

#include <stddef.h>

struct arena;

struct arena	*arena_new(size_t blocksz);	/* 0: a default size */
void		 arena_free(struct arena *);	/* NULL is fine */
/* Forgets every allocation; keeps the blocks (at most `keep` bytes). */
void		 arena_reset(struct arena *);
/* n bytes aligned for any type; n may be 0. */
void		*arena_alloc(struct arena *, size_t n);
/* A NUL-terminated copy of n bytes of s. */
char		*arena_strndup(struct arena *, const char *s, size_t n);
/* Bytes currently held from malloc (for statistics and tests). */
size_t		 arena_size(const struct arena *);

#endif
