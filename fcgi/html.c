/* HTML escaping and the page chrome; pure. */
#include "html.h"

#include <string.h>

#include "assets.h"

#include "render_common.h"

static const char *
html_esc(const unsigned char *s, size_t n, size_t *k, char *buf)
{
	(void)buf;
	*k = 1;
	switch (s[0]) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\t': case '\n': return NULL;
	}
	/* Controls are not allowed in HTML text; neither is a broken sequence. */
	if (s[0] < 0x20 || s[0] == 0x7f || (*k = utf8_seq(s, n)) == 0)
		return "\xef\xbf\xbd";
	return NULL;
}

int
html_str(struct out *o, const char *s)
{
	return out_escaped(o, s, html_esc);
}

int
html_head(struct out *o, const char *title, int script)
{
	const struct asset *css, *js;

	if (out_puts(o, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>") < 0 || html_str(o, title) < 0 || out_puts(o, "</title>\n") < 0)
		return -1;
	/*
	 * Style and script are inline: a stylesheet or a script fetched from
	 * the head holds the first paint (a script the parser too, and so the
	 * rows) until it arrives, 40-60 ms in headless Chromium here. They are
	 * also served as files, PREFIX/tracetrout.css and .js, for anyone who
	 * wants them; web/embed.sh refuses either if it could end its element.
	 */
	if ((css = asset_find("tracetrout.css")) == NULL || out_puts(o, "<style>\n") < 0 ||
	    o->write(o->ctx, css->body, css->len) < 0 || out_puts(o, "</style>\n") < 0)
		return -1;
	/*
	 * A classic script, neither defer (it would run only when the whole
	 * trace has streamed) nor async (it could run after the first rows,
	 * missing when they arrived): it watches the table from the start.
	 */
	if (script && ((js = asset_find("tracetrout.js")) == NULL ||
	    out_puts(o, "<script>\n") < 0 || o->write(o->ctx, js->body, js->len) < 0 ||
	    out_puts(o, "</script>\n") < 0))
		return -1;
	return out_puts(o, "</head>\n<body>\n");
}

int
html_foot(struct out *o)
{
	return out_puts(o, "<footer><p>TraceTrout, a reverse traceroute: the path is measured "
	    "from the server along the visitor's own connection.</p></footer>\n</body>\n</html>\n");
}

int
html_time(struct out *o, uint64_t ms)
{
	char iso[32], human[32];

	render_time(ms, 1, iso, sizeof(iso));
	render_time(ms, 0, human, sizeof(human));
	return out_printf(o, "<time datetime=\"%s\">%s</time>", iso, human);
}
