/*
 * arena.c -- a bump allocator for memory that dies all at once
 *
 * Blocks form a list; allocation bumps a pointer in the current block
 * and moves on to the next (or makes one, at least twice as big as the
 * last) when it is full. A reset rewinds to the first block, so a
 * parser that has seen its largest message allocates nothing more.
 * Blocks past ARENA_KEEP bytes in total are released on reset, so one
 * huge message does not pin its memory for ever.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "xalloc.h"

#define ARENA_ALIGN	16
#define ARENA_DEFAULT	(64 * 1024)
#define ARENA_KEEP	(16 * 1024 * 1024)

struct block {
	struct block	*next;
	size_t		 size;		/* usable bytes after the header */
	size_t		 used;
	max_align_t	 data[];
};

struct arena {
	struct block	*first;
	struct block	*cur;
	size_t		 blocksz;
	size_t		 total;
};

static struct block *
block_new(size_t size)
{
	struct block *b;

	b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_new(size_t blocksz)
{
	struct arena *a;

	a = xcalloc(1, sizeof(*a));
	a->blocksz = blocksz ? blocksz : ARENA_DEFAULT;
	a->first = a->cur = block_new(a->blocksz);
	a->total = a->blocksz;
	return a;
}

void
arena_free(struct arena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	for (b = a->first; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void
arena_reset(struct arena *a)
{
	struct block *b, *next;
	size_t kept = 0;

	for (b = a->first; b != NULL; b = b->next) {
		b->used = 0;
		kept += b->size;
		if (b->next != NULL && kept + b->next->size > ARENA_KEEP) {
			for (next = b->next; next != NULL; next = b->next) {
				b->next = next->next;
				a->total -= next->size;
				free(next);
			}
		}
	}
	a->cur = a->first;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct block *b = a->cur, *nb;
	size_t need, sz;
	char *p;

	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	for (;;) {
		if (b->size - b->used >= n) {
			p = (char *)b->data + b->used;
			b->used += n;
			a->cur = b;
			return p;
		}
		if (b->next == NULL)
			break;
		b = b->next;
	}
	/* Grow: at least double the last block, and big enough for n. */
	need = n;
	sz = b->size * 2;
	if (sz < need)
		sz = need;
	if (sz > SIZE_MAX / 2)
		sz = need;
	nb = block_new(sz);
	b->next = nb;
	a->total += sz;
	nb->used = n;
	a->cur = nb;
	return nb->data;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
arena_size(const struct arena *a)
{
	return a->total;
}
