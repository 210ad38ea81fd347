"""Which of procrastinate's statements the connector repeats when the database drops them
(tests/delivery/test_database_restart.py stops a real server; this pins the rule itself, and
fails if procrastinate stops fetching through the statement the rule names)."""

from __future__ import annotations

import inspect

import procrastinate
import psycopg
import psycopg_pool
import pytest
from procrastinate import sql

from rebook.jobs import Connector

FETCH = sql.queries["fetch_job"]
HEARTBEAT = sql.queries["update_heartbeat"]


def lost(cause: Exception) -> procrastinate.exceptions.ConnectorException:
    """What the connector raises when psycopg loses the server (procrastinate wraps it)."""
    try:
        raise procrastinate.exceptions.ConnectorException from cause
    except procrastinate.exceptions.ConnectorException as exc:
        return exc


class Flaky:
    """A statement the server dropped `failures` times before it answered."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


async def test_a_heartbeat_lost_with_its_connection_is_sent_again() -> None:
    statement = Flaky(2, lost(psycopg.OperationalError("server closed the connection")))
    assert await Connector()._again(HEARTBEAT, statement) == "done"
    assert statement.calls == 3


async def test_a_fetch_lost_mid_statement_is_not_repeated() -> None:
    # Its job may already be `doing` for this worker: fetching again would strand it.
    statement = Flaky(1, lost(psycopg.OperationalError("server closed the connection")))
    with pytest.raises(procrastinate.exceptions.ConnectorException):
        await Connector()._again(FETCH, statement)
    assert statement.calls == 1


async def test_a_fetch_that_found_no_connection_is_repeated() -> None:
    statement = Flaky(1, lost(psycopg_pool.PoolTimeout("couldn't get a connection")))
    assert await Connector()._again(FETCH, statement) == "done"


async def test_a_statement_error_is_not_repeated() -> None:
    statement = Flaky(1, lost(psycopg.errors.UniqueViolation("duplicate key")))
    with pytest.raises(procrastinate.exceptions.ConnectorException):
        await Connector()._again(HEARTBEAT, statement)
    assert statement.calls == 1


def test_procrastinate_fetches_through_the_statement_the_rule_names() -> None:
    source = inspect.getsource(procrastinate.manager.JobManager.fetch_job)
    assert 'sql.queries["fetch_job"]' in source
