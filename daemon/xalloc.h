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

/*
 * Called first by each program: freed memory is kept for reuse (up to
 * 1 MB at the top of the heap) instead of going back to the kernel at
 * each large free. A Redis batch builds and frees buffers of tens of
 * kilobytes a call; with glibc's moving thresholds the heap gave those
 * pages back and faulted them in again every time, a third of the CPU
 * time spent recording an event. (4 MB, and blocks of 1 MB or more
 * mapped on their own, was no faster and raised bouncerd's peak RSS
 * by 2 MB.) Does nothing without glibc's mallopt().
 */
void	 xalloc_init(void);

#endif
