#!/usr/bin/env python3
"""Writes the fuzz seed corpora: the packets and lines the unit tests use, as files."""
import os, struct, ipaddress

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def tcp(src, dst, sport, dport, seq, ack, flags=0x10, opts=b'', payload=b''):
    off = (20 + len(opts)) // 4
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + payload

def ip4(src, dst, proto, body, ttl=64, ident=0x1234):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(body), ident, 0x4000, ttl, proto, 0,
                    ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + body

def ip6(src, dst, nh, body, hl=64):
    return struct.pack('!IHBB16s16s', 6 << 28 | 0x12345, len(body), nh, hl,
                       ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed) + body

ts = b'\x01\x01\x08\x0a' + struct.pack('!II', 1000, 2000)
sack = b'\x01\x01\x05\x0a' + struct.pack('!II', 5000, 5001)
S4, C4, R4 = '192.0.2.10', '198.51.100.7', '192.0.2.1'
S6, C6, R6 = '2001:db8::10', '2001:db8:1::7', '2001:db8::1'
seeds = {
    'tcp4-data': ip4(S4, C4, 6, tcp(S4, C4, 443, 51000, 5000, 9000, 0x18, ts, b'HTTP/1.1 200 OK\r\n')),
    'tcp4-dsack': ip4(C4, S4, 6, tcp(C4, S4, 51000, 443, 9000, 5100, 0x10, sack + ts)),
    'tcp6-data': ip6(S6, C6, 6, tcp(S6, C6, 443, 51000, 5000, 9000, 0x18, ts, b'x' * 40)),
}
probe4 = ip4(S4, C4, 6, tcp(S4, C4, 443, 51000, 5000, 9000, 0x10, ts, b'H'), ttl=1, ident=7)
seeds['icmp4-te-8'] = ip4(R4, S4, 1, b'\x0b\x00\x00\x00\x00\x00\x00\x00' + probe4[:28])
seeds['icmp4-te-full'] = ip4(R4, S4, 1, b'\x0b\x00\x00\x00\x00\x00\x00\x00' + probe4)
seeds['icmp4-fragneeded'] = ip4(R4, S4, 1, b'\x03\x04\x00\x00\x00\x00\x05\xdc' + probe4)
probe6 = ip6(S6, C6, 6, tcp(S6, C6, 443, 51000, 5000, 9000, 0x10, ts, b'H'), hl=1)
seeds['icmp6-te'] = ip6(R6, S6, 58, b'\x03\x00\x00\x00\x00\x00\x00\x00' + probe6)
seeds['icmp6-ptb'] = ip6(R6, S6, 58, b'\x02\x00\x00\x00\x00\x00\x05\x00' + probe6)
seeds['icmp6-unreach'] = ip6(R6, S6, 58, b'\x01\x01\x00\x00\x00\x00\x00\x00' + probe6)
# ICMP extensions (RFC 4884) with a two-entry MPLS label stack (RFC 4950): placed by the
# length field (IPv4 byte 5 in 32-bit words, ICMPv6 byte 4 in 64-bit words), and the legacy
# form with the length 0 and the extension after 128 bytes of quote.
def lse(label, exp, s, ttl): return label << 12 | exp << 9 | s << 8 | ttl
def ext(*lses):
    obj = struct.pack('!HBB', 4 + 4 * len(lses), 1, 1) + b''.join(struct.pack('!I', x) for x in lses)
    h = b'\x20\x00\x00\x00'
    return h[:2] + struct.pack('!H', csum(h + obj)) + obj
mpls = ext(lse(24001, 0, 0, 1), lse(16, 5, 1, 1))
pad = lambda q: q[:128] + b'\0' * (128 - len(q))
seeds['icmp4-te-mpls'] = ip4(R4, S4, 1, b'\x0b\x00\x00\x00\x00\x20\x00\x00' + pad(probe4) + mpls)
seeds['icmp4-te-mpls-legacy'] = ip4(R4, S4, 1, b'\x0b\x00\x00\x00\x00\x00\x00\x00' + pad(probe4) + mpls)
seeds['icmp6-te-mpls'] = ip6(R6, S6, 58, b'\x03\x00\x00\x00\x10\x00\x00\x00' + pad(probe6) + mpls)
seeds['ip6-hbh'] = ip6(S6, C6, 0, b'\x06\x00\x01\x04\x00\x00\x00\x00' + tcp(S6, C6, 443, 51000, 1, 2))
here = os.path.dirname(os.path.abspath(__file__))
for name, b in seeds.items():
    open(os.path.join(here, 'corpus/pkt', name), 'wb').write(b)
lines = {
    'trace4': 'TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443\n',
    'trace6': 'TRACE client=2001:db8:1::7 cport=51234 server=2001:db8::10 sport=443\n',
    'hop': 'HOP ttl=3 sent=3 reply=192.0.2.1,412,time-exceeded,0,64 reply=198.51.100.7,1210,destination,0,62\n',
    'end': 'END reason=destination hops=3 duration_us=5120\n',
    'error': 'ERROR code=not-found msg=connection_not_in_conntrack\n',
    'started': 'STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5\n',
    'greeting': 'TRACETROUT 1\n',
    'hop-ext': 'HOP ttl=4 sent=2 at_us=1764180000123456 reply=192.0.2.1,1234,time-exceeded,0,252,1,148,2,-,16005/0/0/1+24001/7/1/255 reply=2001:db8::1,99,unreachable,3,60,2,60,0,10.0.0.7,-\n',
    'started-token': 'STARTED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1 token=00112233445566778899aabbccddeeff started_ms=1764180000123 addr=full retention_s=2592000\n',
    'stored': 'STORED id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 stored=1 started_ms=1764180000123 addr=prefix retention_s=0 client=198.51.100.0 cport=51234 server=192.0.2.10 sport=443\n',
    'get': 'GET id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5\n',
    'history': 'HISTORY client=2001:db8::7 before=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 limit=21\n',
    'item': 'ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 started_ms=1764180000123 reason=destination hops=3 duration_us=2500 path=192.0.2.1,*,198.51.100.1+198.51.100.2\n',
    'list': 'LIST more=1\n',
    'delete': 'DELETE id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 token=00112233445566778899aabbccddeeff\n',
    'trace-nostore': 'TRACE client=198.51.100.7 cport=51234 server=192.0.2.10 sport=443 store=0\n',
    'hop-flags': 'HOP ttl=5 sent=3 reply=198.51.100.1,3210,time-exceeded,0,62,1,56,0,-,-,3 reply=198.51.100.7,5410,destination,0,60,0,52,0,-,-,12 reply=198.51.100.7,5450,destination,0,60,0,52,0,-,-\n',
    # Late answers (issue 12): a stored hop's answers after it was settled, and the history's mark.
    'hop-late': 'HOP ttl=3 sent=3 reply=203.0.113.3,2210,time-exceeded,0,252,1,56,0,-,- reply=203.0.113.3,180002,time-exceeded,0,252,1,56,0,-,-,17 reply=198.51.100.7,90000,destination,0,60,0,52,0,-,-,16\n',
    'hop-reused': 'HOP ttl=2 sent=2 at_us=1764180000123456 reused=203.0.113.2,3012\n',
    'item-late': 'ITEM id=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5 started_ms=1764180000123 reason=destination hops=3 duration_us=2500 path=192.0.2.1,*+203.0.113.3+2001:db8::3,198.51.100.7\n',
}
for name, l in lines.items():
    open(os.path.join(here, 'corpus/proto', name), 'w').write(l)

def nla(t, payload):
    l = 4 + len(payload)
    return struct.pack('=HH', l, t) + payload + b'\0' * ((4 - l % 4) % 4)
NEST = 0x8000
tup = nla(1 | NEST, nla(1 | NEST, nla(1, ipaddress.ip_address(C4).packed) + nla(2, ipaddress.ip_address(S4).packed)) +
          nla(2 | NEST, nla(1, b'\x06') + nla(2, struct.pack('!H', 51000)) + nla(3, struct.pack('!H', 443))))
proto = nla(4 | NEST, nla(1 | NEST, nla(1, b'\x03') + nla(4, b'\x02\x02') + nla(5, b'\x02\x02')))
mark = nla(8, struct.pack('!I', 0x100000))
body = struct.pack('=BBH', 2, 0, 0) + tup + proto + mark
msg = struct.pack('=IHHII', 16 + len(body), (1 << 8) | 0, 0, 1, 0) + body
open(os.path.join(here, 'corpus/ct', 'ct-established'), 'wb').write(msg)

# FastCGI requests, as fuzz_fcgi reads them: NAME=VALUE lines, the first value of a name wins.
# base() and the cases of tests/unit/fcgi_route_test.c.
base = [('REQUEST_METHOD', 'GET'), ('SCRIPT_NAME', '/trace-me'), ('PATH_INFO', '/'),
        ('REMOTE_ADDR', '198.51.100.7'), ('REMOTE_PORT', '51234'),
        ('SERVER_ADDR', '192.0.2.10'), ('SERVER_PORT', '443')]
reqs = {
    'get': [],
    'head': [('REQUEST_METHOD', 'HEAD')],
    'post': [('REQUEST_METHOD', 'POST')],
    'text-query': [('QUERY_STRING', '_=123&format=TEXT')],
    'bad-format': [('QUERY_STRING', 'format=xml')],
    'accept-q': [('HTTP_ACCEPT', 'application/json; q=0.5 ,TEXT/PLAIN ; q=0.9')],
    'accept-junk': [('HTTP_ACCEPT', ';;,,, ;q=, /')],
    'nginx': [('SCRIPT_NAME', '/trace-me/'), ('PATH_INFO', ''), ('DOCUMENT_URI', '/trace-me/')],
    'request-uri': [('SCRIPT_NAME', ''), ('PATH_INFO', ''), ('REQUEST_URI', '/x/?format=json')],
    'escaped-prefix': [('SCRIPT_NAME', '/a b"<x>\r')],
    'permalink': [('SCRIPT_NAME', '/trace-me/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5'), ('PATH_INFO', '')],
    'v6': [('REMOTE_ADDR', '2001:db8:1::7'), ('SERVER_ADDR', '2001:db8::10')],
    'mapped': [('REMOTE_ADDR', '::ffff:198.51.100.7')],
    'mixed-family': [('SERVER_ADDR', '2001:db8::10')],
    'scoped': [('REMOTE_ADDR', 'fe80::1%eth0')],
    'bad-port': [('REMOTE_PORT', '65536')],
    # Stored traces, history, deletion, assets (issue 4).
    'stored': [('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5'), ('QUERY_STRING', 'format=atlas')],
    'stored-head': [('REQUEST_METHOD', 'HEAD'), ('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5')],
    'bad-id': [('PATH_INFO', '/trace/0F3C9A5E1D2B4C6A8E7F90A1B2C3D4E5%00')],
    'history': [('PATH_INFO', '/history'), ('QUERY_STRING', 'before=0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5&format=html')],
    'history-tail': [('SCRIPT_NAME', '/trace-me/history'), ('PATH_INFO', ''),
                     ('HTTP_ACCEPT', 'text/html,application/xhtml+xml,*/*;q=0.8')],
    'delete-header': [('REQUEST_METHOD', 'DELETE'), ('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5'),
                      ('HTTP_X_DELETE_TOKEN', '8d1e0c4b7a2f9e3d5c6b1a0f2e4d6c8b')],
    'delete-query': [('REQUEST_METHOD', 'DELETE'), ('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5'),
                     ('QUERY_STRING', 'token=%38d1e0c4b7a2f9e3d5c6b1a0f2e4d6c8b')],
    'delete-form': [('REQUEST_METHOD', 'POST'), ('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5/delete'),
                    ('CONTENT_TYPE', 'application/x-www-form-urlencoded; charset=UTF-8'),
                    ('CONTENT_LENGTH', '38'), ('BODY', 'token=8d1e0c4b7a2f9e3d5c6b1a0f2e4d6c8b')],
    'delete-form-big': [('REQUEST_METHOD', 'POST'), ('PATH_INFO', '/trace/0f3c9a5e1d2b4c6a8e7f90a1b2c3d4e5/delete'),
                        ('CONTENT_TYPE', 'application/x-www-form-urlencoded'), ('CONTENT_LENGTH', '99999')],
    'asset': [('PATH_INFO', '/tracetrout.css')],
    'asset-304': [('SCRIPT_NAME', '/trace-me/tracetrout.js'), ('PATH_INFO', ''),
                  ('HTTP_IF_NONE_MATCH', 'W/"x", "y" , *')],
    'store0': [('QUERY_STRING', 'store=0&format=html')],
}
os.makedirs(os.path.join(here, 'corpus/fcgi'), exist_ok=True)
for name, over in reqs.items():
    seen = {n for n, _ in over}
    body = ''.join('%s=%s\n' % kv for kv in over + [kv for kv in base if kv[0] not in seen])
    open(os.path.join(here, 'corpus/fcgi', name), 'w').write(body)
# One split at NULs, where a value holds a newline.
open(os.path.join(here, 'corpus/fcgi', 'nul-split'), 'wb').write(
    b'\0'.join(b'%s=%s' % (n.encode(), v.encode()) for n, v in
               [('PATH_INFO', '/\n')] + base[:2] + base[3:]))

# Broker <-> engine records (helper/emsg.h), as the socketpair carries them: struct emsg in the
# host's layout, mirrored here with ctypes (the seeds are written on LP64 little-endian; the
# unit test emsg_test checks them against the C struct). Valid records of every type, then
# malformed ones, each a valid one with one thing changed, which its name says.
import ctypes as C
class Addr(C.Structure):
    _fields_ = [('family', C.c_int), ('b', C.c_uint8 * 16)]
class Mpls(C.Structure):
    _fields_ = [('label', C.c_uint32), ('exp', C.c_uint8), ('s', C.c_uint8), ('ttl', C.c_uint8)]
class Reply(C.Structure):
    _fields_ = [('frm', Addr), ('rtt_us', C.c_uint32), ('kind', C.c_int), ('code', C.c_uint32),
                ('reply_ttl', C.c_uint8), ('quoted_ttl', C.c_uint8), ('size', C.c_uint16),
                ('ext', C.c_int), ('nmpls', C.c_int), ('mpls', Mpls * 4), ('edst', Addr),
                ('flags', C.c_uint8)]
class Hop(C.Structure):
    _fields_ = [('ttl', C.c_int), ('sent', C.c_int), ('nreplies', C.c_int), ('at_us', C.c_uint64),
                ('r', Reply * 16), ('reused', Addr), ('reused_age_ms', C.c_uint32)]
class Start(C.Structure):
    _fields_ = [('client', Addr), ('server', Addr), ('cport', C.c_uint16), ('sport', C.c_uint16),
                ('nostore', C.c_int), ('nonames', C.c_int), ('wait', C.c_int), ('proxy', C.c_int)]
class End(C.Structure):
    _fields_ = [('code', C.c_char * 32), ('text', C.c_char * 128), ('hops', C.c_int32),
                ('retry_s', C.c_int32)]
class Status(C.Structure):
    _fields_ = [(n, C.c_uint64) for n in ('traces', 'running', 'packets', 'bad_packets',
                                          'probes_sent', 'replies_matched', 'icmp_unmatched', 'icmp_foreign',
                                          'overload_refused', 'rss_bytes')]
class U(C.Union):
    _fields_ = [('start', Start), ('hop', Hop), ('end', End), ('status', Status)]
class Emsg(C.Structure):
    _fields_ = [('type', C.c_uint32), ('trace', C.c_uint32), ('sent_us', C.c_uint64), ('u', U)]
START, CANCEL, STARTED, REFUSED, HOP, END, STATUS, STATUS_ANSWER, LATE = range(1, 10)
AF_INET, AF_INET6 = 2, 10
def addr(s):
    a = ipaddress.ip_address(s)
    return Addr(AF_INET if a.version == 4 else AF_INET6, (C.c_uint8 * 16)(*a.packed))
def emsg(type, trace=7):
    m = Emsg()
    m.type, m.trace = type, trace
    return m
def reply(r, frm, rtt, kind, ttl, flags=0, mpls=()):
    r.frm, r.rtt_us, r.kind, r.reply_ttl, r.quoted_ttl, r.size, r.flags = addr(frm), rtt, kind, ttl, 1, 56, flags
    for i, (label, exp, s, mttl) in enumerate(mpls):
        r.mpls[i] = Mpls(label, exp, s, mttl)
    r.nmpls, r.ext = len(mpls), 2 if mpls else 0
def start(c, s):
    m = emsg(START)
    m.u.start.client, m.u.start.server, m.u.start.cport, m.u.start.sport = addr(c), addr(s), 51234, 443
    return m
def hop():
    m = emsg(HOP)
    h = m.u.hop
    h.ttl, h.sent, h.nreplies, h.at_us = 3, 3, 2, 1764180000123456
    reply(h.r[0], R4, 412, 1, 64, mpls=[(24001, 0, 0, 1), (16, 5, 1, 1)])
    reply(h.r[1], C4, 1210, 4, 62, flags=0x01)
    return m
def hop_full():
    m = emsg(HOP)
    h = m.u.hop
    h.ttl, h.sent, h.nreplies = 255, 16, 16
    for i in range(16):
        reply(h.r[i], R6, 100 + i, 2, 60, flags=0x0f)
    return m
def late():
    m = emsg(LATE)
    m.u.hop.ttl, m.u.hop.sent, m.u.hop.nreplies = 3, 3, 1
    reply(m.u.hop.r[0], R4, 180002, 1, 252, flags=0x10)
    return m
def end(type, code, text, hops):
    m = emsg(type)
    m.u.end.code, m.u.end.text, m.u.end.hops = code, text, hops
    return m
def status_answer():
    m = emsg(STATUS_ANSWER, 0)
    m.u.status = Status(12, 1024, 3400, 2, 310, 290, 1, 5, 9)
    return m
def changed(m, f):
    m = Emsg.from_buffer_copy(bytes(m))
    f(m)
    return m
def setattrs(obj, **kv):
    for k, v in kv.items():
        setattr(obj, k, v)
emsgs = {
    'start4': start(C4, S4), 'start6': start(C6, S6),
    'cancel': emsg(CANCEL), 'started': emsg(STARTED),
    'status': emsg(STATUS, 0), 'status-answer': status_answer(),
    'hop': hop(), 'hop-full': hop_full(),
    'hop-silent': changed(hop(), lambda m: setattrs(m.u.hop, nreplies=0, at_us=0)),
    'late': late(),
    'hop-reused': changed(hop(), lambda m: setattrs(m.u.hop, nreplies=0, reused=addr(R4), reused_age_ms=3012)),
    'end': end(END, b'destination', b'', 3),
    'end-max': end(END, b'max-hops', b'', 255),
    'refused': end(REFUSED, b'not-found', b'connection not in conntrack', 0),
    'refused-busy': changed(end(REFUSED, b'busy', b'the tracing engine is overloaded', 0),
                            lambda m: setattrs(m.u.end, retry_s=1)),
}
bad = {
    'bad-type0': changed(emsgs['start4'], lambda m: setattr(m, 'type', 0)),
    'bad-type10': changed(emsgs['start4'], lambda m: setattr(m, 'type', 10)),
    'bad-start-family0': changed(emsgs['start4'], lambda m: setattr(m.u.start.client, 'family', 0)),
    'bad-start-family-mixed': changed(emsgs['start4'], lambda m: setattr(m.u.start, 'server', addr(S6))),
    'bad-start-family-unix': changed(emsgs['start4'], lambda m: setattr(m.u.start.server, 'family', 1)),
    'bad-start-cport0': changed(emsgs['start4'], lambda m: setattr(m.u.start, 'cport', 0)),
    'bad-start-sport0': changed(emsgs['start6'], lambda m: setattr(m.u.start, 'sport', 0)),
    'bad-status-trace': changed(emsgs['status'], lambda m: setattr(m, 'trace', 7)),
    'bad-status-answer-trace': changed(emsgs['status-answer'], lambda m: setattr(m, 'trace', 7)),
    'bad-status-answer-running': changed(emsgs['status-answer'], lambda m: setattr(m.u.status, 'running', 1025)),
    'bad-hop-ttl0': changed(emsgs['hop'], lambda m: setattr(m.u.hop, 'ttl', 0)),
    'bad-hop-ttl256': changed(emsgs['hop-full'], lambda m: setattr(m.u.hop, 'ttl', 256)),
    'bad-hop-sent-negative': changed(emsgs['hop'], lambda m: setattr(m.u.hop, 'sent', -1)),
    'bad-hop-sent17': changed(emsgs['hop-full'], lambda m: setattr(m.u.hop, 'sent', 17)),
    'bad-hop-nreplies-negative': changed(emsgs['hop'], lambda m: setattr(m.u.hop, 'nreplies', -1)),
    'bad-hop-nreplies17': changed(emsgs['hop-full'], lambda m: setattr(m.u.hop, 'nreplies', 17)),
    'bad-hop-from-family': changed(emsgs['hop'], lambda m: setattr(m.u.hop.r[1].frm, 'family', 0)),
    'bad-hop-kind0': changed(emsgs['hop'], lambda m: setattr(m.u.hop.r[0], 'kind', 0)),
    'bad-hop-kind5': changed(emsgs['hop-full'], lambda m: setattr(m.u.hop.r[15], 'kind', 5)),
    'bad-hop-flags': changed(emsgs['hop'], lambda m: setattr(m.u.hop.r[1], 'flags', 0x20)),
    'bad-hop-reused-family': changed(emsgs['hop-reused'], lambda m: setattr(m.u.hop.reused, 'family', 1)),
    'bad-hop-reused-replies': changed(emsgs['hop-reused'], lambda m: setattr(m.u.hop, 'nreplies', 1)),
    'bad-hop-reused-age': changed(emsgs['hop-reused'], lambda m: setattr(m.u.hop, 'reused_age_ms', 3600001)),
    'bad-late-reused': changed(emsgs['late'], lambda m: setattr(m.u.hop, 'reused', addr(R4))),
    'bad-late-two': changed(emsgs['late'], lambda m: setattr(m.u.hop, 'nreplies', 2)),
    'bad-late-unflagged': changed(emsgs['late'], lambda m: setattr(m.u.hop.r[0], 'flags', 0)),
    'bad-end-code-empty': changed(emsgs['end'], lambda m: C.memset(C.addressof(m.u.end), 0, 32)),
    'bad-end-code-unterminated': changed(emsgs['end'], lambda m: C.memset(C.addressof(m.u.end), ord('x'), 32)),
    'bad-end-text-unterminated': changed(emsgs['refused'], lambda m: C.memset(C.addressof(m.u.end) + 32, ord('x'), 128)),
    'bad-end-hops-negative': changed(emsgs['end'], lambda m: setattr(m.u.end, 'hops', -1)),
    'bad-end-hops256': changed(emsgs['end-max'], lambda m: setattr(m.u.end, 'hops', 256)),
    'bad-refused-code-empty': changed(emsgs['refused'], lambda m: C.memset(C.addressof(m.u.end), 0, 32)),
    'bad-refused-retry-negative': changed(emsgs['refused-busy'], lambda m: setattr(m.u.end, 'retry_s', -1)),
    'bad-refused-retry-long': changed(emsgs['refused-busy'], lambda m: setattr(m.u.end, 'retry_s', 86401)),
}
os.makedirs(os.path.join(here, 'corpus/emsg'), exist_ok=True)
for name, m in list(emsgs.items()) + list(bad.items()):
    open(os.path.join(here, 'corpus/emsg', name), 'wb').write(bytes(m))
# The wrong sizes: a record one byte short (truncated) and one byte long, and an empty one.
b = bytes(emsgs['start4'])
for name, data in (('bad-short', b[:-1]), ('bad-long', b + b'\0'), ('bad-empty', b'')):
    open(os.path.join(here, 'corpus/emsg', name), 'wb').write(data)
