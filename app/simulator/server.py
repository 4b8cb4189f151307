"""`SimulatorServer`: an OpenAI-compatible HTTP server on 127.0.0.1, in its own threads.

It is thread-based (not asyncio) so that it runs the same whatever event loop, if any, the
client under test uses, and so that a client blocking its loop cannot stall the server.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import threading
import time
from collections import deque
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from app.core.catalog import DEFAULT_MODEL
from app.simulator.completion import SYSTEM_FINGERPRINT
from app.simulator.counting import PrefixCache, count_prompt
from app.simulator.faults import Fault
from app.simulator.handler import SimulatorHandler
from app.simulator.models import ModelRegistry
from app.simulator.ratelimits import Limits, RateLimiter
from app.simulator.records import ReceivedRequest
from app.simulator.schema import check_request

log = logging.getLogger("app.simulator")

_STOP_JOIN_SECONDS = 5.0


class SimulatorServer:
    """A loopback server speaking the OpenAI wire protocol, for tests, benchmarks and the demo.

    `api_key` None accepts any bearer key; otherwise any other key gets the API's 401.
    `chunk_delay` seconds separate streamed chunks of `words_per_chunk` tokens each.
    `answer_words` pads answers to about that many words (a request can override it with an
    `X-Simulator-Answer-Words` header). `send_usage` False drops usage from replies, as some
    compatible servers do. `extra_models` are served besides the catalog's.
    """

    def __init__(
        self,
        api_key: str | None = None,
        chunk_delay: float = 0.0,
        words_per_chunk: int = 1,
        answer_words: int | None = None,
        send_usage: bool = True,
        extra_models: Iterable[str] = (),
        *,
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.words_per_chunk = words_per_chunk
        self.answer_words = answer_words
        self.send_usage = send_usage
        # The `system_fingerprint` of every reply; set it to act out a backend update.
        self.system_fingerprint = SYSTEM_FINGERPRINT
        self.registry = ModelRegistry(extra_models)
        self.prefix_cache = PrefixCache()
        self.rate_limiter = RateLimiter()
        self.stopping = threading.Event()
        self._requested_port = port
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._answers: deque[str] = deque()
        self._requests: list[ReceivedRequest] = []
        self._httpd: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        self.stopping.clear()
        self._httpd = LoopbackHTTPServer(("127.0.0.1", self._requested_port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_until_stopped,
            name=f"simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end every open connection, including stalled streams."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        httpd.wake()
        if thread is not None:
            thread.join()
        httpd.abort_connections(deadline=time.monotonic() + _STOP_JOIN_SECONDS)
        httpd.server_close()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def warm_up(self, model_id: str = DEFAULT_MODEL) -> None:
        """Load the request schema and the model's token encoding now (about half a second).

        Otherwise the first chat request pays for it. Call it off any GUI thread.
        """
        check_request({"model": model_id, "messages": [{"role": "user", "content": "hi"}]})
        count_prompt([{"role": "user", "content": "hi"}], model_id)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as the SDK's `base_url`."""
        return f"{self.url}/v1"

    # Scripting and inspection (thread-safe)

    def script(self, *faults: Fault) -> None:
        """Queue faults; each chat request consumes the next one (FIFO)."""
        with self._lock:
            self._faults.extend(faults)

    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def script_answer(self, *answers: str) -> None:
        """Queue answers; each chat request consumes the next one and says it (FIFO).

        The text replaces the simulated answer as it is, so a test can make the model say
        exactly what it needs (raw HTML, a huge code block); every other part of the reply
        (streaming, usage, faults) behaves as usual.
        """
        with self._lock:
            self._answers.extend(answers)

    def next_answer(self) -> str | None:
        with self._lock:
            return self._answers.popleft() if self._answers else None

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The chat requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def set_rate_limits(
        self, *, requests: int = 5_000, tokens: int = 2_000_000, enforce: bool = False
    ) -> None:
        """Per-minute budgets reported in `x-ratelimit-*`; `enforce` answers 429 beyond them."""
        self.rate_limiter.configure(Limits(requests=requests, tokens=tokens, enforce=enforce))


class LoopbackHTTPServer(ThreadingHTTPServer):
    """The HTTP server under a `SimulatorServer`.

    It tracks each connection and its thread, so that `stop()` can end them all promptly.
    """

    daemon_threads = True
    # Joined with a deadline in abort_connections instead, so a stuck handler cannot hang stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], simulator: SimulatorServer) -> None:
        self.simulator = simulator
        self._open: dict[socket.socket, threading.Thread] = {}
        self._open_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            super().__init__(address, SimulatorHandler)
        except OSError:
            self._wake_reader.close()
            self._wake_writer.close()
            raise
        # Bounds handle_request() should a ready connection vanish before it is accepted.
        self.timeout = 0.5

    def serve_until_stopped(self) -> None:
        """Accept connections until `wake()` after `simulator.stopping` is set.

        Unlike serve_forever, this waits on the listening socket and a wake-up socket with no
        polling interval: idle it costs nothing, and stop() takes effect at once.
        """
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self.simulator.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self.simulator.stopping.is_set():
                        self.handle_request()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"simulator-conn:{client_address[1]}",
            daemon=True,
        )
        with self._open_lock:
            self._open[request] = thread
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def abort_connections(self, deadline: float) -> None:
        with self._open_lock:
            open_now = list(self._open.items())
        for connection, _ in open_now:
            # Its handler may have closed it already.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("simulator connection from %s failed", client_address)
