#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The live page in a real browser: headless Chromium in the visitor's namespace loads / with a
# browser's Accept header, through the namespace network, IPv4 and IPv6. The hop rows it ends up
# with are exactly the path (router next to the server first, the visitor last), the page's
# script ran (the path diagram, the first row's latency), and the end says why the trace
# stopped. A screenshot of each, at a phone's width, is kept in tests/artifacts/.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sys_require lighttpd conntrack chromium python3
sys_require_build

tap_plan 12
netns_build -n 4 || { echo "Bail out! cannot build the network"; exit 1; }
netns_serve_start "$top_builddir"
tap_ok $? "tracetrout-serve runs in the server namespace"
artifacts=$top_builddir/tests/artifacts
mkdir -p "$artifacts"

# chrome NAME ARGS...: headless Chromium as the visitor; the flags the issue names, a profile
# of its own in the scratch directory, and a time limit. stdout is the page (--dump-dom).
chrome() {
	local name=$1
	shift
	nsx "$NETNS_VISITOR" timeout 60 chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --no-first-run --user-data-dir="$NETNS_TMP/chrome-$name" \
		"$@" 2>"$NETNS_TMP/chrome-$name.err"
}

# rows: the page's hop rows (table body rows) as "TTL ADDRESS" lines; the latency attribute last.
rows() {
	python3 -c '
import sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tbody = self.tr = self.td = 0
        self.cells, self.text, self.rows, self.latency = [], "", [], None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html" and "data-first-row-latency-ms" in a:
            self.latency = a["data-first-row-latency-ms"]
        if tag == "tbody": self.tbody += 1
        elif tag == "tr" and self.tbody: self.tr, self.cells = 1, []
        elif tag in ("td", "th") and self.tr: self.td, self.text = 1, ""
    def handle_endtag(self, tag):
        if tag == "tbody": self.tbody -= 1
        elif tag in ("td", "th") and self.td:
            self.td = 0
            self.cells.append(" ".join(self.text.split()))
        elif tag == "tr" and self.tr:
            self.tr = 0
            if len(self.cells) >= 2 and self.cells[0].isdigit():
                self.rows.append("%s %s" % (self.cells[0], self.cells[1].split(" ")[0]))
    def handle_data(self, data):
        if self.td: self.text += data

p = Rows()
p.feed(sys.stdin.read())
print("\n".join(p.rows))
print("latency %s" % p.latency)
'
}

for fam in 4 6; do
	url=$(netns_url "$fam" /)
	chrome "dom$fam" --dump-dom "$url" >"$NETNS_TMP/dom$fam.html"
	tap_ok $? "IPv$fam: Chromium loads the page" || sys_show "$NETNS_TMP/chrome-dom$fam.err"
	rows <"$NETNS_TMP/dom$fam.html" >"$NETNS_TMP/rows$fam"
	got=$(grep -v '^latency ' "$NETNS_TMP/rows$fam")
	want=$(netns_hops_text "$fam")
	[ "$got" = "$want" ]
	tap_ok $? "IPv$fam: the hop rows are exactly the path" ||
		{ { echo "want:"; echo "$want"; echo "got:"; echo "$got"; } | tap_diag
		  sys_show "$NETNS_TMP/dom$fam.html"; }
	# The script ran: it drew the path and measured the first row against the hop's settling.
	latency=$(sed -n 's/^latency //p' "$NETNS_TMP/rows$fam")
	grep -q '<svg' "$NETNS_TMP/dom$fam.html" && [[ "$latency" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] &&
		awk -v l="$latency" 'BEGIN { exit !(l > -5 && l < 1000) }'
	tap_ok $? "IPv$fam: the script drew the path and saw the first row ${latency} ms after its hop settled" ||
		sys_show "$NETNS_TMP/dom$fam.html"
	grep -q 'reached' "$NETNS_TMP/dom$fam.html" && grep -q '/trace/[0-9a-f]\{32\}' "$NETNS_TMP/dom$fam.html"
	tap_ok $? "IPv$fam: the end says the visitor was reached and gives the permalink"
	chrome "shot$fam" --window-size=412,915 --screenshot="$artifacts/browser-ipv$fam.png" "$url" >/dev/null
	[ -s "$artifacts/browser-ipv$fam.png" ]
	tap_ok $? "IPv$fam: screenshot kept as tests/artifacts/browser-ipv$fam.png" ||
		sys_show "$NETNS_TMP/chrome-shot$fam.err"
done

netns_serve_stop
tap_ok $? "tracetrout-serve stops cleanly"
sys_done
