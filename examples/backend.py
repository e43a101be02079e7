"""A user's own service, to put behind the emulated internal ALB (docker-compose.yml, tests).
Answers GET /api/hello with JSON; listens on 127.0.0.1:${PORT:-8080}. With DELAY_SECONDS set,
it answers that many seconds late (a slow service, for time-out experiments)."""
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(float(os.environ.get("DELAY_SECONDS", "0")))
        if self.path.startswith("/api/hello"):
            body = json.dumps({"message": "hello from your service",
                               "forwardedFor": self.headers.get("X-Forwarded-For"),
                               "forwardedProto": self.headers.get("X-Forwarded-Proto")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b'{"message": "not found"}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
