/*
 * Sites' names (docs/fleet.md, docs/query.md): a uid means something on one
 * machine only, so a site is named across a fleet, and to operators, by
 * site-names, else by its user's name.
 */
#ifndef TT_HELPER_BROKER_SITENAME_H
#define TT_HELPER_BROKER_SITENAME_H

#include <sys/types.h>

#include "config.h"

struct site_names {
	struct config_site sites[CONFIG_SITES_N];	/* site-names' */
	int nsites;
	struct config_site cache[32];	/* users' names, asked once per uid */
	int ncache;
};

/* From a site-names value (config_check has checked it): 0, or -1 with why in err. */
int site_names_init(struct site_names *sn, const char *setting, char *err, size_t errlen);
/* uid's site name: site-names', else its user's name, or its number. */
const char *site_names_name(struct site_names *sn, uid_t uid);
/* The local uid of a site named name (site_names_name's inverse), or (uid_t)-1. */
uid_t site_names_uid(const struct site_names *sn, const char *name);

#endif
