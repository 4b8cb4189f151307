"""An OpenAI-compatible API simulator on 127.0.0.1, for tests, benchmarks and demo mode.

    from app.simulator import SimulatorServer, Fault

    with SimulatorServer() as sim:
        client = OpenAI(base_url=sim.base_url, api_key="sk-test")
        sim.script(Fault.status(429), Fault.disconnect(after_chunks=3))

It speaks the real wire protocol (JSON, SSE, error bodies, rate-limit headers) so that the
official SDK and the app run against it unchanged.
"""

from app.simulator.faults import Fault, FaultKind
from app.simulator.records import ReceivedRequest
from app.simulator.server import SimulatorServer

__all__ = ["Fault", "FaultKind", "ReceivedRequest", "SimulatorServer"]
