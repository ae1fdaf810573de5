/*
 * xalloc.h -- allocation that never returns NULL
 *
 * Out of memory is not an error bouncer can recover from in a useful
 * way, so these abort with a message instead. Everything returned is
 * owned by the caller and released with free().
 */
#ifndef BOUNCER_XALLOC_H
#define BOUNCER_XALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
