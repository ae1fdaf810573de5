/*
 * blocklistcmd.h -- "bouncerctl blocklist": check DNS blocklists now,
 * list what the daemon found
 *
 *   blocklist check [IP|DOMAIN ...]	a table; exit 3 when listed
 *   blocklist list			the listings in the store
 *
 * Programs layer: part of bouncerctl, not of libbouncer.a. It uses the
 * same monitor as bouncerd (dnsbl.h), in its check-once mode, and the
 * blocklist_* parameters of bouncer.conf. See bouncerctl(8).
 */
#ifndef BOUNCER_BLOCKLISTCMD_H
#define BOUNCER_BLOCKLISTCMD_H

#include <stdio.h>

#include "storecmd.h"

/* Runs "blocklist ..." with argv[0] == "blocklist"; the exit status. */
int		 blocklistcmd_run(int argc, char **argv,
		    const struct storecmd_globals *g);
void		 blocklistcmd_usage(FILE *fp);

#endif
