#!/usr/bin/env python3
"""Checks one output of fcgi_render_test: atlas_check.py KIND FILE.

KIND is
  atlas    one RIPE Atlas traceroute result: every field of PRODUCT.md's list with
           its type, nothing Atlas does not define but our x- reply flags and a hop's
           x-late (replies that came after the hop was settled) and x-reused (a
           silent hop's remembered router: its result all timeouts), a fleet's
           top-level x-vantage (docs/fleet.md), msm_id/prb_id/lts absent, and fw in the range where RIPE's sagan reads the current schema
           ("af", not "pf");
  jsonl    JSON lines, one object each (the original TraceTrout's format);
  json     one JSON document;
  history  the history JSON document (docs/formats.md), late_ttls naming answered hops;
  html     well-formed enough: every element closed in order, no stray markup.
Exits 0 if the file passes; says why on stdout (as TAP comments) and exits 1 if not.
"""

import html.parser
import ipaddress
import json
import re
import sys

errors = []


def fail(msg):
    errors.append(msg)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def addr(v, where, family=None):
    try:
        a = ipaddress.ip_address(v)
    except (ValueError, TypeError):
        fail("%s: %r is not an IP address" % (where, v))
        return
    if family and a.version != family:
        fail("%s: %s is not IPv%d" % (where, v, family))


TOP = {
    "fw": is_int, "af": is_int, "dst_addr": str, "src_addr": str, "proto": str,
    "timestamp": is_int, "endtime": is_int, "type": str, "paris_id": is_int,
    "size": is_int, "result": list,
}
REPLY = {
    "from": str, "rtt": is_num, "size": is_int, "ttl": is_int, "ittl": is_int,
    "err": None, "mtu": is_int, "late": is_int, "dup": bool, "edst": str, "icmpext": dict,
}
# Ours, not Atlas's (docs/formats.md): how a reply was matched; only ever true.
FLAGS = ("x-id-changed", "x-seq-shifted", "x-by-count", "x-ambiguous")


def typed(v, t):
    return isinstance(v, t) if isinstance(t, type) else t(v)


def check_reply(r, where, af):
    if not isinstance(r, dict):
        return fail("%s: not an object" % where)
    if "x" in r:
        if r != {"x": "*"}:
            fail("%s: a timeout is exactly {\"x\": \"*\"}, got %r" % (where, r))
        return
    for k, v in r.items():
        if k in FLAGS:
            if v is not True:
                fail("%s: %s is true or absent, got %r" % (where, k, v))
        elif k not in REPLY:
            fail("%s: field %r is not in the Atlas reply format" % (where, k))
        elif REPLY[k] is not None and not typed(v, REPLY[k]):
            fail("%s: %s has the wrong type: %r" % (where, k, v))
    for k in ("from", "rtt", "ttl"):
        if k not in r:
            fail("%s: %s missing" % (where, k))
    if "from" in r:
        addr(r["from"], where + ".from", af)
    if "edst" in r:
        addr(r["edst"], where + ".edst", af)
    if "rtt" in r and is_num(r["rtt"]) and round(r["rtt"], 3) != r["rtt"]:
        fail("%s: rtt has more than 3 decimals" % where)
    if "x-ambiguous" in r and "x-by-count" not in r:
        fail("%s: x-ambiguous without x-by-count" % where)
    if "ittl" in r and r["ittl"] == 1:
        fail("%s: ittl 1 is left out in Atlas" % where)
    if "err" in r:
        e = r["err"]
        if not (is_int(e) or e in ("N", "H", "A", "P", "p", "h")):
            fail("%s: err %r is neither an Atlas letter nor a code" % (where, e))
    if "icmpext" in r:
        x = r["icmpext"]
        if x.get("version") != 2 or x.get("rfc4884") not in (0, 1) or \
                not isinstance(x.get("obj"), list) or set(x) != {"version", "rfc4884", "obj"}:
            fail("%s: icmpext malformed: %r" % (where, x))
        for o in x.get("obj", []):
            if o.get("class") != 1 or o.get("type") != 1 or not isinstance(o.get("mpls"), list):
                fail("%s: icmpext object malformed: %r" % (where, o))
                continue
            for e in o["mpls"]:
                if set(e) != {"label", "exp", "s", "ttl"} or not all(is_int(v) for v in e.values()):
                    fail("%s: mpls entry malformed: %r" % (where, e))


def check_atlas(doc):
    if not isinstance(doc, dict):
        return fail("not a JSON object")
    for k in ("msm_id", "prb_id", "lts"):
        if k in doc:
            fail("%s must be absent: it has no meaning here" % k)
    failed = "err" in doc
    for k, t in TOP.items():
        if k not in doc:
            if not (k == "endtime" and failed):
                fail("field %s missing" % k)
        elif not typed(doc[k], t):
            fail("field %s has the wrong type: %r" % (k, doc[k]))
    for k in doc:
        if k not in TOP and k != "err" and k != "x-vantage":
            fail("top-level field %r is not in PRODUCT.md's list" % k)
    # A fleet's server that traced it (docs/fleet.md): an extra field, as the issue asks.
    if "x-vantage" in doc and not (isinstance(doc["x-vantage"], str) and
                                   re.fullmatch(r"[A-Za-z0-9._-]{1,63}", doc["x-vantage"])):
        fail("x-vantage %r" % doc["x-vantage"])
    # sagan: "if 0 < self.firmware < 4460: self.af = self.ensure('pf', int)"; fw 0 is malformed.
    if is_int(doc.get("fw")) and doc["fw"] < 4460:
        fail("fw %r would make sagan read the old schema (pf) or call it malformed" % doc["fw"])
    if doc.get("af") not in (4, 6):
        fail("af is 4 or 6")
    af = doc.get("af")
    addr(doc.get("dst_addr"), "dst_addr", af)
    addr(doc.get("src_addr"), "src_addr", af)
    if doc.get("proto") != "TCP" or doc.get("type") != "traceroute":
        fail("proto TCP and type traceroute expected")
    if is_int(doc.get("endtime")) and is_int(doc.get("timestamp")) and \
            doc["endtime"] < doc["timestamp"]:
        fail("endtime before timestamp")
    for i, hop in enumerate(doc.get("result", [])):
        where = "result[%d]" % i
        if not isinstance(hop, dict) or not {"hop", "result"} <= set(hop) <= \
                {"hop", "result", "x-late", "x-reused"}:
            fail("%s: a hop is {hop, result} and x-late, x-reused: %r" % (where, hop))
            continue
        # Ours: a silent hop's remembered router; the hop itself stays all timeouts.
        if "x-reused" in hop:
            x = hop["x-reused"]
            if not isinstance(x, dict) or set(x) != {"from", "age"} or \
                    not isinstance(x["age"], (int, float)) or isinstance(x["age"], bool) or \
                    x["age"] < 0:
                fail("%s: x-reused is {from, age (s, a number)}: %r" % (where, x))
            else:
                addr(x["from"], where + ".x-reused.from", af)
            if not isinstance(hop["result"], list) or \
                    any(not isinstance(r, dict) or set(r) != {"x"} for r in hop["result"]):
                fail("%s: a hop with x-reused has timeouts only in result" % where)
        # Ours: answers after the hop was settled, replies as in result, never a timeout.
        if "x-late" in hop:
            if not isinstance(hop["x-late"], list) or not hop["x-late"]:
                fail("%s: x-late is a non-empty list" % where)
            else:
                for j, r in enumerate(hop["x-late"]):
                    if isinstance(r, dict) and "x" in r:
                        fail("%s.x-late[%d]: a late answer is a reply, not a timeout" % (where, j))
                    check_reply(r, "%s.x-late[%d]" % (where, j), af)
        if hop["hop"] != i + 1:
            fail("%s: hop %r, expected %d" % (where, hop["hop"], i + 1))
        if not isinstance(hop["result"], list) or not hop["result"]:
            fail("%s: result is a non-empty list" % where)
            continue
        for j, r in enumerate(hop["result"]):
            check_reply(r, "%s.result[%d]" % (where, j), af)


def check_history(doc):
    if not isinstance(doc, dict) or set(doc) != {"client", "traces", "next"}:
        return fail("history is {client, traces, next}")
    addr(doc["client"], "client")
    if doc["next"] is not None and not isinstance(doc["next"], str):
        fail("next is a URL or null")
    for i, t in enumerate(doc["traces"]):
        want = {"id", "started", "reason", "hops", "duration_ms", "path", "change"}
        if not want <= set(t) <= want | {"late_ttls", "vantage"}:
            fail("traces[%d]: fields %r" % (i, sorted(t)))
            continue
        # A fleet's: the server that traced it (docs/fleet.md).
        if "vantage" in t and not (isinstance(t["vantage"], str) and
                                   re.fullmatch(r"[A-Za-z0-9._-]{1,63}", t["vantage"])):
            fail("traces[%d]: vantage %r" % (i, t["vantage"]))
        # The hops whose addresses answered only late: TTLs of answered hops, in order.
        if "late_ttls" in t:
            lt = t["late_ttls"]
            if not (isinstance(lt, list) and lt and all(is_int(x) for x in lt) and
                    lt == sorted(set(lt)) and
                    all(1 <= x <= len(t["path"]) and t["path"][x - 1] for x in lt)):
                fail("traces[%d]: late_ttls %r" % (i, lt))
        if not (isinstance(t["path"], list) and all(isinstance(h, list) for h in t["path"])):
            fail("traces[%d]: path is an array of arrays" % i)
        for h in t["path"]:
            for a in h:
                addr(a, "traces[%d].path" % i)
        c = t["change"]
        if c is not None and set(c) != {"added", "removed", "replaced", "first_ttl"}:
            fail("traces[%d]: change %r" % (i, c))


VOID = {"meta", "link", "br", "input", "img", "hr", "wbr", "col", "source"}


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            fail("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()


def main():
    if len(sys.argv) != 3:
        print("usage: atlas_check.py atlas|jsonl|json|history|html FILE")
        return 2
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
        text = raw.decode("utf-8", "replace")
    try:
        if kind == "jsonl":
            for n, line in enumerate(text.splitlines(), 1):
                # A live trace's body starts with a space (fcgi/render_json.c); with no hop
                # at all that space is the whole body.
                if n == 1 and line == " ":
                    continue
                if not isinstance(json.loads(line), dict):
                    fail("line %d is not an object" % n)
        elif kind == "html":
            p = Tags()
            p.feed(text)
            p.close()
            if not p.doctype:
                fail("no <!doctype html>")
            if p.stack:
                fail("not closed: %s" % " ".join(p.stack))
        else:
            doc = json.loads(text)
            if kind == "atlas":
                check_atlas(doc)
            elif kind == "history":
                check_history(doc)
    except ValueError as e:
        fail("does not parse: %s" % e)
    for e in errors:
        print("#   %s" % e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
