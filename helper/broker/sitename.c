/* Sites' names by uid and uids by name (sitename.h). */
#include "sitename.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>

int
site_names_init(struct site_names *sn, const char *setting, char *err, size_t errlen)
{
	memset(sn, 0, sizeof(*sn));
	if ((sn->nsites = config_site_names(setting, sn->sites, CONFIG_SITES_N, err, errlen)) < 0) {
		sn->nsites = 0;
		return -1;
	}
	return 0;
}

const char *
site_names_name(struct site_names *sn, uid_t uid)
{
	struct config_site *c;
	struct passwd *pw;
	int i;

	for (i = 0; i < sn->nsites; i++)
		if (sn->sites[i].uid == (uint32_t)uid)
			return sn->sites[i].name;
	for (i = 0; i < sn->ncache; i++)
		if (sn->cache[i].uid == (uint32_t)uid)
			return sn->cache[i].name;
	/* Full: the first entry makes room; a name is asked again at worst. */
	c = &sn->cache[sn->ncache < (int)(sizeof(sn->cache) / sizeof(sn->cache[0])) ?
	    sn->ncache++ : 0];
	c->uid = (uint32_t)uid;
	if ((pw = getpwuid(uid)) != NULL && strlen(pw->pw_name) < sizeof(c->name))
		snprintf(c->name, sizeof(c->name), "%s", pw->pw_name);
	else
		snprintf(c->name, sizeof(c->name), "%lu", (unsigned long)uid);
	return c->name;
}

uid_t
site_names_uid(const struct site_names *sn, const char *name)
{
	struct passwd *pw;

	for (int i = 0; i < sn->nsites; i++)
		if (strcmp(sn->sites[i].name, name) == 0)
			return (uid_t)sn->sites[i].uid;
	return (pw = getpwnam(name)) != NULL ? pw->pw_uid : (uid_t)-1;
}
