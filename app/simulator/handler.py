"""HTTP/1.1 request handling: routing, auth, headers, and writing JSON or SSE replies."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from app.simulator import errors
from app.simulator.admin import handle_admin
from app.simulator.chat import ChatPlan, plan_chat
from app.simulator.errors import ApiError
from app.simulator.faults import DEFAULT_ORGANIZATION, Fault, FaultKind
from app.simulator.records import ReceivedRequest
from app.simulator.stream import DONE, error_event, malformed_event, stream_events

if TYPE_CHECKING:
    from app.simulator.server import LoopbackHTTPServer, SimulatorServer

log = logging.getLogger("app.simulator")

ANSWER_WORDS_HEADER = "x-simulator-answer-words"
_FLUSH_BYTES = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024


class ChunkedWriter:
    """`Transfer-Encoding: chunked` output that batches small events into larger writes."""

    def __init__(self, wfile: Any) -> None:
        self._wfile = wfile
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._wfile.write(b"%x\r\n%b\r\n" % (len(self._buffer), bytes(self._buffer)))
            self._buffer.clear()

    def finish(self) -> None:
        # The last data and the terminating chunk go out in one write, so a client that stops
        # reading at `[DONE]` very likely has the end of the body too and can reuse the socket.
        tail = b"%x\r\n%b\r\n" % (len(self._buffer), bytes(self._buffer)) if self._buffer else b""
        self._buffer.clear()
        self._wfile.write(tail + b"0\r\n\r\n")


class SimulatorHandler(BaseHTTPRequestHandler):
    """One connection; the SDK keeps it alive across requests, so bodies are always drained."""

    protocol_version = "HTTP/1.1"
    server_version = "chatdesk-simulator"
    sys_version = ""
    # Reaps connections a client abandoned without closing; stalls wait on an Event, not this.
    timeout = 300

    @property
    def sim(self) -> SimulatorServer:
        return cast("LoopbackHTTPServer", self.server).simulator

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    # Routing

    def _dispatch(self) -> None:
        self._started = time.monotonic()
        self._request_id = "req_" + secrets.token_hex(16)
        self._rate_headers: list[tuple[str, str]] = []
        self._replied = False
        try:
            raw = self._read_body()
            path = urlsplit(self.path).path
            if path.startswith("/_simulator/"):
                status, payload = handle_admin(self.sim, self.command, path, raw)
                self._send_json(status, payload)
                return
            self._rate_headers = self.sim.rate_limiter.headers()
            if path == "/v1/chat/completions" and self.command == "POST":
                self._chat(path, raw)
                return
            self._authorize()
            if path == "/v1/models" and self.command == "GET":
                self._send_json(200, self.sim.registry.list_object())
            elif path.startswith("/v1/models/") and self.command == "GET":
                model = unquote(path.removeprefix("/v1/models/"))
                found = self.sim.registry.model_object(model)
                if found is None:
                    raise errors.model_not_found(model)
                self._send_json(200, found)
            else:
                raise errors.invalid_url(self.command, path)
        except ApiError as error:
            self._send_error(error)
        except (ConnectionError, TimeoutError) as error:
            log.debug("client connection lost: %s", error)
            self.close_connection = True
        except Exception:
            log.exception("simulator failed on %s %s", self.command, self.path)
            if self._replied:
                self._drop_connection()
            else:
                self._send_error(errors.server_error(self._request_id))

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            size = int(length) if length.strip().isdigit() else -1
            if not 0 <= size <= _MAX_BODY:
                self.close_connection = True
                raise ApiError(400, f"Invalid Content-Length: {length!r}")
            return self.rfile.read(size)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        return b""

    def _authorize(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise errors.missing_api_key()
        expected = self.sim.api_key
        if expected is not None and not secrets.compare_digest(key, expected):
            raise errors.incorrect_api_key(key)

    # Chat completions

    def _chat(self, path: str, raw: bytes) -> None:
        try:
            body: Any = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        self.sim.record(ReceivedRequest(self.command, path, headers, body, peer))
        fault = self.sim.next_fault()
        if fault is not None and fault.kind is FaultKind.STATUS:
            model = body.get("model") if isinstance(body, dict) else None
            raise fault.status_error(
                model=str(model or "gpt-4o"),
                organization=self._organization(),
                request_id=self._request_id,
                api_key=self.headers.get("Authorization", "").partition(" ")[2].strip(),
            )
        self._authorize()
        plan = plan_chat(
            body,
            registry=self.sim.registry,
            prefix_cache=self.sim.prefix_cache,
            answer_words=self._answer_words(),
            send_usage=self.sim.send_usage,
            answer=self.sim.next_answer(),
            system_fingerprint=self.sim.system_fingerprint,
        )
        completion = plan.completion
        self._rate_headers, limited = self.sim.rate_limiter.draw(
            completion.prompt_tokens + completion.completion_tokens,
            model=completion.model,
            organization=self._organization(),
        )
        if limited is not None:
            raise limited
        if plan.stream:
            self._stream(plan, fault)
        elif fault is None or self._apply_fault_before_body(fault, plan):
            self._send_json(200, completion.to_object(include_usage=plan.include_usage))

    def _answer_words(self) -> int | None:
        override = self.headers.get(ANSWER_WORDS_HEADER)
        if override is None:
            return self.sim.answer_words
        try:
            return max(0, int(override))
        except ValueError:
            raise ApiError(400, f"Invalid {ANSWER_WORDS_HEADER} header: {override!r}") from None

    def _apply_fault_before_body(self, fault: Fault, plan: ChatPlan) -> bool:
        """Act out a fault on a non-streamed request; True if the normal reply should follow."""
        if fault.kind is FaultKind.DISCONNECT:
            self._drop_connection()
            return False
        if fault.kind is FaultKind.STALL:
            if self.sim.stopping.wait(fault.seconds):
                self._drop_connection()
                return False
            return True
        if fault.kind is FaultKind.MALFORMED:
            text = json.dumps(plan.completion.to_object(include_usage=plan.include_usage))
            self._send_bytes(200, text[: len(text) // 2].encode(), "application/json")
            return False
        raise fault.status_error(
            model=plan.completion.model,
            organization=self._organization(),
            request_id=self._request_id,
        )

    def _stream(self, plan: ChatPlan, fault: Fault | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self._send_common_headers()
        self.end_headers()
        self._replied = True
        writer = ChunkedWriter(self.wfile)
        delay = self.sim.chunk_delay
        events = stream_events(
            plan.completion,
            words_per_chunk=self.sim.words_per_chunk,
            include_usage=plan.include_usage,
            obfuscate=plan.obfuscate,
        )
        for sent, event in enumerate(events):
            if fault is not None and sent == fault.after_chunks:
                if self._apply_stream_fault(fault, writer, plan):
                    return
                fault = None
            writer.write(event)
            if delay > 0:
                writer.flush()
                if self.sim.stopping.wait(delay):
                    self._drop_connection()
                    return
        if fault is not None and self._apply_stream_fault(fault, writer, plan):
            return
        writer.write(DONE)
        writer.finish()

    def _apply_stream_fault(self, fault: Fault, writer: ChunkedWriter, plan: ChatPlan) -> bool:
        """Act out a fault mid-stream; True if the stream is over."""
        if fault.kind is FaultKind.MALFORMED:
            writer.write(malformed_event(plan.completion))
            writer.flush()
            return False
        if fault.kind is FaultKind.STREAM_ERROR:
            writer.write(error_event(fault.stream_error_object()))
            writer.finish()
            return True
        writer.flush()
        if fault.kind is FaultKind.STALL and not self.sim.stopping.wait(fault.seconds):
            return False
        self._drop_connection()
        return True

    def _drop_connection(self) -> None:
        """Close abruptly: the client sees the body end without its terminating chunk."""
        self.close_connection = True
        # The peer or stop() may have closed it first.
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # Writing

    def _organization(self) -> str:
        return self.headers.get("OpenAI-Organization") or DEFAULT_ORGANIZATION

    def _send_common_headers(self) -> None:
        elapsed = round((time.monotonic() - self._started) * 1000)
        self.send_header("openai-organization", self._organization())
        project = self.headers.get("OpenAI-Project")
        if project:
            self.send_header("openai-project", project)
        self.send_header("openai-processing-ms", str(elapsed))
        self.send_header("openai-version", "2020-10-01")
        self.send_header("x-request-id", self._request_id)
        for name, value in self._rate_headers:
            self.send_header(name, value)

    def _send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload, indent=2, ensure_ascii=False).encode() + b"\n"
        self._send_bytes(status, body, "application/json")

    def _send_error(self, error: ApiError) -> None:
        self._send_bytes(error.status, error.body(), error.content_type, error.headers)

    def _send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._send_common_headers()
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self._replied = True
        self.wfile.write(body)
