"""A stand-in for kube-apiserver in the load-balancer network tests.

Serves HTTPS (self-signed, like an API server seen without its CA) on [::]:PORT:
  GET /livez  -> 200 "ok", or 500 while the file UNHEALTHY_FLAG exists
  GET /whoami -> 200 with this server's NAME (which backend answered)
HTTP/1.1 keep-alive, one thread per connection; the TLS handshake runs in the
connection's thread so a slow client never blocks the others.

usage: livez_server.py NAME PORT CERT KEY UNHEALTHY_FLAG
"""
import http.server
import os
import socket
import ssl
import sys

NAME, PORT, CERT, KEY, FLAG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
CTX.load_cert_chain(CERT, KEY)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/livez":
            code, body = (500, b"unhealthy\n") if os.path.exists(FLAG) else (200, b"ok\n")
        elif self.path == "/whoami":
            code, body = 200, (NAME + "\n").encode()
        else:
            code, body = 404, b"not found\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def finish_request(self, request, client_address):
        try:
            tls = CTX.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls, client_address, self)

    def handle_error(self, request, client_address):
        pass


srv = Server(("::", PORT), Handler)
print(f"{NAME} listening on [::]:{PORT}", flush=True)
srv.serve_forever()
