#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# TraceTrout in a box: four Linux routers in network namespaces between a visitor and a server
# running tracetrout-serve; the visitor asks for its reverse traceroute, in text and JSON, over
# IPv4 and IPv6. Everything is removed at the end (and on Ctrl-C).
#
#   sudo ./scripts/demo.sh [BUILDDIR]     BUILDDIR: where make ran (default: the current
#                                         directory if it has tracetrout-serve, else the source)
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(dirname "$here")
if [ $# -gt 0 ]; then
	builddir=$1
elif [ -x ./tracetrout-serve ]; then
	builddir=.
else
	builddir=$srcdir
fi
builddir=$(cd "$builddir" 2>/dev/null && pwd) || { echo "demo: no directory ${1:-}" >&2; exit 1; }

[ "$(id -u)" = 0 ] || { echo "demo: needs root (namespaces, firewall rules): sudo $0 $*" >&2; exit 1; }
for f in tracetrout-serve tracetrout-rules helper/tracetroutd fcgi/tracetrout.fcgi; do
	[ -x "$builddir/$f" ] || { echo "demo: $builddir/$f missing: run ./configure && make first" >&2; exit 1; }
done
for t in ip iptables lighttpd curl; do
	command -v "$t" >/dev/null || { echo "demo: $t not found (see README.md for the packages)" >&2; exit 1; }
done

# shellcheck source=../tests/lib/netns.sh
. "$srcdir/tests/lib/netns.sh"

netns_build -n 4 || { echo "demo: could not build the network" >&2; exit 1; }
cat <<EOF
Network (each box is a network namespace; routers answer from the address toward the server):

  visitor $NETNS_VISITOR4 / $NETNS_VISITOR6
    -- R1 ${NETNS_HOPS4[3]} -- R2 ${NETNS_HOPS4[2]} -- R3 ${NETNS_HOPS4[1]} -- R4 ${NETNS_HOPS4[0]}
    -- server $NETNS_SERVER4 / $NETNS_SERVER6, tracetrout-serve on port $NETNS_PORT

EOF
if ! netns_serve_start "$builddir"; then
	echo "demo: tracetrout-serve did not start" >&2
	exit 1
fi

for fam in 4 6; do
	echo "== IPv$fam, text:  curl '$(netns_url "$fam" "/?format=text")'"
	netns_trace "$fam" "/?format=text"
	echo
	echo "== IPv$fam, JSON lines:  curl '$(netns_url "$fam" /)'"
	netns_trace "$fam" / -D "$NETNS_TMP/head$fam"
	echo
done

# The last trace is stored: its permalink serves it again, in any format.
link=$(tr -d '\r' <"$NETNS_TMP/head6" | sed -n 's/^Link: <\([^>]*\)>.*/\1/p')
if [ -n "$link" ]; then
	echo "== the IPv6 trace again by its permalink, as RIPE Atlas JSON:  curl '$(netns_url 6 "$link?format=atlas")'"
	netns_trace 6 "$link?format=atlas"
	echo
fi
echo "== the visitor's history:  curl '$(netns_url 4 "/history?format=text")'"
netns_trace 4 "/history?format=text"
echo
echo "(a browser at $(netns_url 4 /) gets the live page)"
echo

netns_serve_stop
echo "== tracetrout-serve's log"
cat "$NETNS_TMP/serve.log"
