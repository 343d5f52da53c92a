"""`keyart druid ingest` checks the overlord before exporting anything."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from keyart.backends.druid.ingest import DruidIngestor
from keyart.cli import main as cli_main
from keyart.errors import IngestError
from tests.backends import handmade


def _status(artifacts: list[str]) -> httpx.MockTransport:
    modules = [
        {"name": f"m{i}", "artifact": a, "version": "33.0.0"} for i, a in enumerate(artifacts)
    ]
    return httpx.MockTransport(
        lambda r: httpx.Response(200, json={"version": "33.0.0", "modules": modules})
    )


async def test_missing_datasketches_extension_is_named() -> None:
    ingestor = DruidIngestor(
        "http://overlord:8081", progress=None, transport=_status(["druid-gcp-common"])
    )
    with pytest.raises(IngestError, match=r"druid-datasketches.*loadList"):
        await ingestor.preflight()
    await ingestor.aclose()


async def test_datasketches_extension_passes() -> None:
    ingestor = DruidIngestor(
        "http://overlord:8081", progress=None, transport=_status(["druid-datasketches"])
    )
    await ingestor.preflight()
    await ingestor.aclose()


def test_cli_fails_fast_when_the_overlord_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handmade.publish(tmp_path / "wh", handmade.make_dataset(n_members=20, n_impressions=50))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = cli_main(["druid", "ingest", "--warehouse", str(tmp_path / "wh"),
                     "--druid", f"http://127.0.0.1:{port}"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert f"http://127.0.0.1:{port}/status" in err
    assert "exported" not in err  # nothing was exported before the check
