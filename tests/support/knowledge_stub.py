"""A local HTTP stub of the Anthropic Messages API, for tests that drive the real SDK."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from breakroom.knowledge.engine import IDK


class Stub:
    """A Messages API stub: records requests, answers according to ``mode``."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | idk | 529 | 500 | slow
        self.delays: dict[str, float] = {}  # extra delay when the question contains the word
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.answer_text = "ngircd allows 5 connections per IP by default; the template sets 0."
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                stub.headers.append(dict(self.headers))
                if self.path != "/v1/messages":
                    self._send(404, {"type": "error", "error": {"type": "not_found_error",
                                                               "message": self.path}})
                    return
                question = body["messages"][0]["content"][-1]["text"]
                if stub.mode == "slow":
                    time.sleep(2.0)
                time.sleep(next((d for word, d in stub.delays.items() if word in question), 0))
                if stub.mode in ("529", "500"):
                    kind = "overloaded_error" if stub.mode == "529" else "api_error"
                    self._send(int(stub.mode), {"type": "error",
                                                "error": {"type": kind, "message": kind}})
                    return
                first = next(b for b in body["messages"][0]["content"] if b["type"] == "search_result")
                text = IDK if stub.mode == "idk" else stub.answer_text
                citations = [] if stub.mode == "idk" else [{
                    "type": "search_result_location", "source": first["source"],
                    "title": first["title"], "cited_text": first["content"][0]["text"],
                    "search_result_index": 0, "start_block_index": 0, "end_block_index": 1}]
                self._send(200, {
                    "id": "msg_stub", "type": "message", "role": "assistant", "model": body["model"],
                    "content": [{"type": "text", "text": text, "citations": citations},
                                {"type": "text", "text": "\nconfidence: 0.9"}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 100, "output_tokens": 20}})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (the timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
