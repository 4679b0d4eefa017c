/*
 * HTML output: escaping of everything that came from a packet, the broker
 * or a visitor, and the page chrome that the trace page and the history share.
 */
#ifndef TT_FCGI_HTML_H
#define TT_FCGI_HTML_H

#include <stdint.h>

#include "out.h"

/* Writes s as text or as an attribute value: & < > " ' escaped, controls and bad UTF-8 as U+FFFD. */
int html_str(struct out *o, const char *s);
/*
 * From <!doctype html> to <body>: charset, viewport, title (escaped), the
 * stylesheet and, if script, the script, both inline (web/).
 */
int html_head(struct out *o, const char *title, int script);
/* The footer, </body> and </html>. */
int html_foot(struct out *o);
/* <time datetime="ISO">2025-11-26 18:00:00 UTC</time> */
int html_time(struct out *o, uint64_t ms);

#endif
