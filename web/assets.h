/* The live page's static files, compiled into the app by web/embed.sh: no disk read. */
#ifndef TT_WEB_ASSETS_H
#define TT_WEB_ASSETS_H

#include <stddef.h>

struct asset {
	const char *name;		/* "tracetrout.css" */
	const char *content_type;
	const char *body;
	size_t len;
	const char *etag;		/* a strong ETag, quoted: "<crc>-<length>" of the body */
};

/* The asset of that name (no directory), or NULL. */
const struct asset *asset_find(const char *name);

#endif
