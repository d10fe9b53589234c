"""A stateful fake of the PrintNode API subset we use (whoami, computers, printers, printjobs)."""

from __future__ import annotations

import base64
import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakePrintNode:
    def __init__(self, api_key: str = "printnode-test-key-0042"):
        self.api_key = api_key
        self.jobs: list[dict] = []
        self.by_idempotency: dict[str, int] = {}
        self.fail_429 = 0.0
        self.random = random.Random(3)
        self.computers = [{"id": 11, "name": "MAGAZYN-PC", "state": "connected"}]
        self.printers = [
            {"id": 101, "name": "Zebra ZD420", "computer": self.computers[0], "state": "online"},
            {"id": 102, "name": "HP LaserJet", "computer": self.computers[0], "state": "online"},
        ]
        self.server = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _auth_ok(self):
                header = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(f"{fake.api_key}:".encode()).decode()
                return header == expected

            def do_GET(self):
                if not self._auth_ok():
                    return self._send(401, {"code": "Unauthorized", "message": "API Key not found"})
                routes = {
                    "/whoami": {"id": 1, "email": "sklep@example.pl"},
                    "/computers": fake.computers,
                    "/printers": fake.printers,
                    "/printjobs": fake.jobs,
                }
                if self.path in routes:
                    return self._send(200, routes[self.path])
                return self._send(404, {"message": "Not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self._auth_ok():
                    return self._send(401, {"code": "Unauthorized", "message": "API Key not found"})
                if fake.fail_429 and fake.random.random() < fake.fail_429:
                    return self._send(429, {"code": "TooManyRequests", "message": "Rate limit"})
                if self.path != "/printjobs":
                    return self._send(404, {"message": "Not found"})
                if body.get("printerId") not in {p["id"] for p in fake.printers}:
                    return self._send(400, {"code": "BadRequest", "message": "printerId invalid"})
                if body.get("contentType") not in ("pdf_base64", "raw_base64", "pdf_uri", "raw_uri"):
                    return self._send(400, {"code": "BadRequest", "message": "contentType invalid"})
                key = self.headers.get("X-Idempotency-Key")
                if key and key in fake.by_idempotency:
                    return self._send(201, fake.by_idempotency[key])
                job_id = 4000 + len(fake.jobs) + 1
                fake.jobs.append({"id": job_id, **body, "content": base64.b64decode(body.get("content", ""))})
                if key:
                    fake.by_idempotency[key] = job_id
                return self._send(201, job_id)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
