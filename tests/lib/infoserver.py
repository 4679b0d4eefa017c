#!/usr/bin/env python3
"""A stand-in for whereabouts (the INFO_URI_TEMPLATE service) in the tests: one URL per address,
whereabouts-shaped JSON, and on command every way such a service can misbehave.

    python3 tests/lib/infoserver.py --listen ADDR:PORT --port-file FILE [--log FILE]
        [--delay-ms MS] [--slower-ms MS] [--deep-levels N]

PORT 0 takes any free port; the port is written to FILE (atomically) once the server listens.
--log FILE gets a line a request: time, client, method, path, status and the headers (JSON).
An IPv6 ADDR goes in brackets: --listen [::1]:0. Python 3's standard library only.

GET /ip/ADDR          200, whereabouts' JSON for ADDR (no Content-Type, as whereabouts):
                      {"continent":{...},"country":{"code":..,"name":..},"city":..}, chosen
                      deterministically by the address; some addresses also get ipinfo-style
                      "org" and "asn"; {} for private, loopback and link-local addresses, except
                      the test network's 10.77.0.0/16 and 2001:db8:77::/48, which play the
                      Internet; 422 {"message": "Not an IPv4/IPv6 address"} for a bad ADDR.
                      ADDR may be percent-encoded (the original sends IPv6 colons as %3A).
GET /MODE/ip/ADDR     the same address, misbehaving:
    slow      answers after --delay-ms (500 ms)
    slower    answers after --slower-ms (5000 ms)
    422       422 {"message": "Not an IPv4/IPv6 address"}
    500       500, empty body
    bad       200, a body that is not JSON
    huge      200, a 10 MB body (valid JSON, sent as fast as it is read)
    drip      200, then one byte a second, forever (no Content-Length)
    redirect  302 to /ip/ADDR
    close     closes the connection without answering
    markup    200, JSON whose strings hold <script>alert(1)</script>, quotes, & and <b>
    deep      200, --deep-levels (100000) nested arrays: [[[...]]]; ?levels=N overrides
    type      200, the normal JSON with Content-Type: text/html (a wrong type)
    ipinfo    200, an ipinfo.io-shaped body: "country" a code string, "org", "loc", "asn"
GET /count            {"total":N,"by_path":{"/ip/10.77.1.1":2,...},"in_flight_max":K,
                      "in_flight":J,"user_agents":{"...":N}}: the service requests (every
                      request but /count and /reset) since the start or the last reset; a path
                      as requested, without its query; in_flight_max the most handled at once.
POST /reset           zeroes the counts (204).
"""

import argparse
import hashlib
import http.server
import ipaddress
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

# Deterministic answers: an address picks one of these by a hash of its bytes.
PLACES = [
    ("EU", "Europe", "DE", "Germany", "Frankfurt am Main"),
    ("EU", "Europe", "NL", "Netherlands", "Amsterdam"),
    ("NA", "North America", "US", "United States", "Mountain View"),
    ("AS", "Asia", "JP", "Japan", "Tokyo"),
    ("EU", "Europe", "FR", "France", "Paris"),
    ("SA", "South America", "BR", "Brazil", "São Paulo"),
    ("OC", "Oceania", "AU", "Australia", "Sydney"),
    ("EU", "Europe", "CH", "Switzerland", "Zürich"),
]
ORGS = [
    (64500, "Example Transit"),
    (64501, "Example Backbone GmbH"),
    (64502, "Documentation Networks"),
]
# The test network (tests/lib/netns.sh) plays the Internet: its private and documentation
# addresses get real-looking answers. Other private addresses get {}, as whereabouts gives.
PUBLIC_HERE = [ipaddress.ip_network("10.77.0.0/16"), ipaddress.ip_network("2001:db8:77::/48")]

MARKUP = "<script>alert(1)</script>"
MODES = {"slow", "slower", "422", "500", "bad", "huge", "drip", "redirect", "close",
         "markup", "deep", "type", "ipinfo"}
HUGE_BYTES = 10 * 1000 * 1000
BAD_ADDR = b'{"message": "Not an IPv4/IPv6 address"}'


def pick(addr):
    """An index derived from all the address's bytes: stable, and different for 10.77.1.1 and
    10.77.2.1 (the test routers all end in .1)."""
    return int.from_bytes(hashlib.sha256(addr.packed).digest()[:4], "big")


def is_private(addr):
    if any(addr in net for net in PUBLIC_HERE):
        return False
    return addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_unspecified


def whereabouts(addr):
    """whereabouts' answer for addr, as a dict."""
    if is_private(addr):
        return {}
    h = pick(addr)
    cc, cont, code, country, city = PLACES[h % len(PLACES)]
    body = {"continent": {"code": cc, "name": cont},
            "country": {"code": code, "name": country},
            "city": city}
    if (h >> 8) % 2 == 0:
        # ipinfo-style extras on some addresses: the fields the broker picks up as asn and org.
        asn, name = ORGS[(h >> 16) % len(ORGS)]
        body["org"] = "AS%d %s" % (asn, name)
        body["asn"] = {"asn": "AS%d" % asn, "name": name, "route": str(addr), "type": "isp"}
    return body


def ipinfo(addr):
    """An ipinfo.io-shaped answer: country as a code, org "ASN name", loc."""
    if is_private(addr):
        return {"ip": str(addr), "bogon": True}
    h = pick(addr)
    _, _, code, _, city = PLACES[h % len(PLACES)]
    asn, name = ORGS[(h >> 16) % len(ORGS)]
    return {"ip": str(addr), "city": city, "region": "Example Region", "country": code,
            "loc": "50.1109,8.6821", "org": "AS%d %s" % (asn, name), "timezone": "Europe/Berlin"}


def markup():
    return {"continent": {"code": "EU", "name": MARKUP},
            "country": {"code": "\"><script>alert(1)</script>",
                        "name": "Ger\"many " + MARKUP + " & 'co' <b>"},
            "city": MARKUP + "\"'&<b>bold</b>",
            "org": "AS64500 " + MARKUP + "\"",
            "asn": {"asn": "AS64500", "name": MARKUP}}


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.reset()

    def reset(self):
        self.total = 0
        self.by_path = {}
        self.in_flight_max = 0   # requests still running stay in in_flight
        self.user_agents = {}

    def begin(self, path, ua):
        with self.lock:
            self.total += 1
            self.by_path[path] = self.by_path.get(path, 0) + 1
            self.user_agents[ua] = self.user_agents.get(ua, 0) + 1
            self.in_flight += 1
            self.in_flight_max = max(self.in_flight_max, self.in_flight)

    def end(self):
        with self.lock:
            self.in_flight -= 1

    def snapshot(self):
        with self.lock:
            return {"total": self.total, "by_path": dict(self.by_path),
                    "in_flight_max": self.in_flight_max, "in_flight": self.in_flight,
                    "user_agents": dict(self.user_agents)}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as libcurl expects

    def version_string(self):
        return "infoserver"

    def log_message(self, fmt, *args):
        pass

    def log_request(self, code="-", size="-"):
        # Every header as sent, so that a test or a reader can see exactly what the helper sends.
        self.server.log("%s %s %s %s %s" % (self.client_address[0], self.command, self.path, code,
                                            json.dumps(list(self.headers.items()))))

    def reply(self, status, body=b"", ctype=None, extra=()):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 65536))
        if path == "/reset":
            with self.server.counts.lock:
                self.server.counts.reset()
            self.reply(204)
        else:
            self.reply(404, b'{"message":"not found"}', "application/json")

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        if path == "/count":
            self.reply(200, encode(self.server.counts.snapshot()), "application/json")
            return
        self.server.counts.begin(path, self.headers.get("User-Agent", ""))
        try:
            self.service(path, urllib.parse.parse_qs(parts.query))
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        finally:
            self.server.counts.end()

    do_HEAD = do_GET

    def service(self, path, query):
        segs = path.split("/")
        # "/ip/A" -> ["", "ip", "A"]; "/slow/ip/A" -> ["", "slow", "ip", "A"]
        if len(segs) == 3 and segs[1] == "ip":
            mode, raw = "", segs[2]
        elif len(segs) == 4 and segs[2] == "ip" and segs[1] in MODES:
            mode, raw = segs[1], segs[3]
        else:
            self.reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return
        try:
            addr = ipaddress.ip_address(urllib.parse.unquote(raw))
        except ValueError:
            addr = None

        if mode == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if mode == "slow":
            self.server.sleep(self.server.delay_ms / 1000)
        elif mode == "slower":
            self.server.sleep(self.server.slower_ms / 1000)
        if mode == "422" or addr is None:
            self.reply(422, BAD_ADDR)
        elif mode == "500":
            self.reply(500)
        elif mode == "bad":
            self.reply(200, b"<html><body>Bad Gateway, but 200</body></html>\n{\"country\":")
        elif mode == "redirect":
            self.reply(302, b"", None, [("Location", "/ip/" + raw)])
        elif mode == "markup":
            self.reply(200, encode(markup()))
        elif mode == "deep":
            n = self.server.deep_levels
            try:
                n = max(1, min(int(query.get("levels", [n])[0]), 10 * 1000 * 1000))
            except ValueError:
                pass
            self.reply(200, b"[" * n + b"]" * n)
        elif mode == "huge":
            self.huge()
        elif mode == "drip":
            self.drip()
        elif mode == "type":
            self.reply(200, encode(whereabouts(addr)), "text/html; charset=utf-8")
        elif mode == "ipinfo":
            self.reply(200, encode(ipinfo(addr)), "application/json; charset=utf-8")
        else:
            self.reply(200, encode(whereabouts(addr)))

    def huge(self):
        """A 10 MB JSON object, {"pad":"xxx..."}, written as fast as the client reads."""
        head, tail = b'{"pad":"', b'"}'
        fill = HUGE_BYTES - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        self.wfile.write(head)
        chunk = b"x" * 65536
        while fill > 0:
            n = min(fill, len(chunk))
            self.wfile.write(chunk[:n])
            fill -= n
        self.wfile.write(tail)

    def drip(self):
        """One byte a second until the client goes away (or the server stops)."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b'{"pad":"')
        self.wfile.flush()
        while not self.server.stopping.is_set():
            self.wfile.write(b"x")
            self.wfile.flush()
            self.server.sleep(1)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024   # 100 traces at once may connect together
    allow_reuse_address = True

    def __init__(self, addr, family, args):
        self.address_family = family
        self.counts = Counts()
        self.delay_ms = args.delay_ms
        self.slower_ms = args.slower_ms
        self.deep_levels = args.deep_levels
        self.stopping = threading.Event()
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        super().__init__(addr, Handler)

    def sleep(self, seconds):
        self.stopping.wait(seconds)

    def log(self, msg):
        if self.log_file:
            with self.log_lock:
                self.log_file.write("%.3f %s\n" % (time.time(), msg))
                self.log_file.flush()

    def handle_error(self, request, client_address):
        # A client that went away is normal here (timeouts, size caps); anything else is logged.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (BrokenPipeError, ConnectionResetError, socket.timeout)):
            self.log("error from %s: %r" % (client_address[0], exc))


def parse_listen(s):
    if s.startswith("["):
        host, sep, port = s[1:].partition("]:")
        if not sep:
            raise ValueError("an IPv6 address goes in brackets: [::1]:0")
        return host, int(port), socket.AF_INET6
    host, sep, port = s.rpartition(":")
    if not sep:
        raise ValueError("ADDR:PORT")
    return host, int(port), socket.AF_INET


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="ADDR:PORT, [ADDR6]:PORT; port 0: any")
    ap.add_argument("--port-file", required=True, help="the chosen port is written here")
    ap.add_argument("--log", help="one line per request")
    ap.add_argument("--delay-ms", type=int, default=500, help="/slow's delay (500)")
    ap.add_argument("--slower-ms", type=int, default=5000, help="/slower's delay (5000)")
    ap.add_argument("--deep-levels", type=int, default=100000, help="/deep's nesting (100000)")
    args = ap.parse_args()
    try:
        host, port, family = parse_listen(args.listen)
    except ValueError as e:
        ap.error("--listen: %s" % e)
    srv = Server((host, port), family, args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.log("listening on %s port %d" % (host, srv.server_address[1]))
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stopping.set()
        srv.server_close()


def on_term(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    main()
