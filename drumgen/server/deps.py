"""What every router needs, held on app.state and handed to routes as a typed dependency."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from drumgen.engine.engine import Engine
from drumgen.server.inference import Inference
from drumgen.server.settings import Settings


@dataclasses.dataclass
class Services:
    engine: Engine
    settings: Settings
    inference: Inference
    jobs: Any  # jobs.JobManager
    midi: Any  # midi.MidiHub


def _services(conn: HTTPConnection) -> Services:
    return conn.app.state.services


def _http_services(request: Request) -> Services:
    return request.app.state.services


Svc = Annotated[Services, Depends(_http_services)]
