#!/usr/bin/python3
"""A small HTTP/1.1 reverse proxy that injects S3 faults, for tests.

    fault_proxy.py --upstream http://127.0.0.1:PORT [--control FILE] [RULE ...]

Listens on a free port of 127.0.0.1, prints "PORT <n>" as its first line on
stdout, then forwards every request to the upstream byte for byte (the Host
header too, as the client sent it: SigV4 signs it). Standard library only.

Rules, one per line in the control file (re-read on every request; "#"
starts a comment) or one per --rule argument:

    every N 500        every Nth matching request: 500 InternalError
    every N 503        every Nth matching request: 503 SlowDown
    every N reset      every Nth: read the request, then reset the connection
    every N stall S    every Nth: hold the request S seconds, then forward it
    every N throttle K every Nth: forward it, the answer's body at K KiB/s
    always 503         (or any action above): every matching request
    ... match GET      limit the rule to a method (GET, PUT, POST, HEAD, ...);
                       several methods: match PUT,POST

Each rule counts the requests it matches; the first rule that fires wins.
One line per request (and per fault) goes to stderr:
    REQ <n> <method> <path> -> <status>|FAULT <what>
"""
import argparse
import http.client
import http.server
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
ERRORS = {
    "500": ("Internal Server Error", "InternalError", "We encountered an internal error. Please try again."),
    "503": ("Slow Down", "SlowDown", "Please reduce your request rate."),
}

lock = threading.Lock()
state = {"n": 0, "counts": {}}  # requests seen; per rule text: matches seen
args = None


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def parse_rule(line):
    """'every 3 500 match GET' -> dict, or None for a blank/comment line."""
    w = line.split("#", 1)[0].split()
    if not w:
        return None
    r = {"text": " ".join(w), "every": 1, "methods": None, "action": None, "arg": 0.0}
    i = 0
    if w[0] == "every":
        r["every"], i = int(w[1]), 2
    elif w[0] == "always":
        i = 1
    else:
        raise ValueError("rule must start with every/always: " + line)
    r["action"] = w[i]
    i += 1
    if r["action"] in ("stall", "throttle"):
        r["arg"], i = float(w[i]), i + 1
    elif r["action"] not in ("500", "503", "reset"):
        raise ValueError("unknown action: " + line)
    if i < len(w):
        if w[i] != "match" or i + 1 >= len(w):
            raise ValueError("expected 'match METHOD': " + line)
        r["methods"] = set(w[i + 1].upper().split(","))
    return r


def load_rules():
    lines = list(args.rule or [])
    if args.control:
        try:
            with open(args.control) as f:
                lines += f.read().splitlines()
        except FileNotFoundError:
            pass
    rules = []
    for line in lines:
        try:
            r = parse_rule(line)
        except (ValueError, IndexError) as e:
            log("BADRULE %s" % e)
            continue
        if r:
            rules.append(r)
    return rules


def pick_fault(method):
    """Counts the request against every matching rule; returns the first that fires."""
    rules = load_rules()
    with lock:
        state["n"] += 1
        n, hit = state["n"], None
        for r in rules:
            if r["methods"] and method not in r["methods"]:
                continue
            c = state["counts"].get(r["text"], 0) + 1
            state["counts"][r["text"]] = c
            if hit is None and c % r["every"] == 0:
                hit = r
    return n, hit


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # the default logs every line: ours is shorter
        pass

    def _body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())  # RST now, before the handler's FIN
        self.close_connection = True

    def _error(self, code, method):
        reason, s3code, msg = ERRORS[code]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            "<Resource>%s</Resource><RequestId>fault-proxy</RequestId></Error>" % (s3code, msg, escape(self.path))
        ).encode()
        self.send_response(int(code), reason)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        if code == "503":
            self.send_header("Retry-After", "1")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _forward(self, method, body, kibps=0.0):
        up = urllib.parse.urlsplit(args.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)
        try:
            conn.putrequest(method, self.path, skip_host=True, skip_accept_encoding=True)
            signed = self.headers.get("Authorization", "").lower()
            for k, v in self.headers.items():
                lk = k.lower()
                if lk in HOP or lk == "content-length" or (lk == "expect" and "expect" not in signed):
                    continue
                conn.putheader(k, v)
            if body or method in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            length = resp.getheader("Content-Length")
            data = None
            if length is None and method != "HEAD":
                data = resp.read()  # chunked or to-close: send it with a length
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP and not (data is not None and k.lower() == "content-length"):
                    self.send_header(k, v)
            if data is not None:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data is not None:
                self.wfile.write(data)
            elif method != "HEAD":
                left = int(length)
                while left > 0:
                    chunk = resp.read(min(left, 65536))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
                    if kibps > 0:
                        time.sleep(len(chunk) / (kibps * 1024.0))
                if left:  # upstream died mid-body: so does the client's connection
                    self.close_connection = True
            return resp.status
        finally:
            conn.close()

    def _handle(self):
        method = self.command
        body = self._body()
        n, rule = pick_fault(method)
        what = rule["action"] if rule else None
        if what == "reset":
            log("REQ %d %s %s -> FAULT reset (%s)" % (n, method, self.path, rule["text"]))
            self._reset()
            return
        if what in ERRORS:
            log("REQ %d %s %s -> FAULT %s (%s)" % (n, method, self.path, what, rule["text"]))
            self._error(what, method)
            return
        if what == "stall":
            log("REQ %d %s %s -> FAULT stall %gs (%s)" % (n, method, self.path, rule["arg"], rule["text"]))
            time.sleep(rule["arg"])
        kibps = 0.0
        if what == "throttle":
            log("REQ %d %s %s -> FAULT throttle %g KiB/s (%s)" % (n, method, self.path, rule["arg"], rule["text"]))
            kibps = rule["arg"]
        try:
            status = self._forward(method, body, kibps)
        except (OSError, http.client.HTTPException) as e:
            log("REQ %d %s %s -> upstream error %s" % (n, method, self.path, e))
            self.close_connection = True
            return
        log("REQ %d %s %s -> %d" % (n, method, self.path, status))

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        log("CONN error from %s: %s" % (client_address, sys.exc_info()[1]))


def main():
    global args
    p = argparse.ArgumentParser(description="S3 fault-injecting reverse proxy (127.0.0.1 only)")
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--control", help="rules file, re-read on every request")
    p.add_argument("--rule", action="append", help='a rule, e.g. "every 3 500 match GET"')
    args = p.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme != "http" or up.hostname not in ("127.0.0.1", "localhost"):
        p.error("--upstream must be http://127.0.0.1:PORT")
    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
