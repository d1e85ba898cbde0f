"""The support clocks' histograms on /metrics (server/metrics.py), against a real server and
Postgres: an agent's first reply observes the human first response time once (a second
reply does not), a resolution observes the resolution time, each labelled with the brand's
slug and the conversation's channel."""

from __future__ import annotations

import json
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from server.metrics import Metrics
from server.services import demo
from tests.harness import ROOT, RunningServer, customer


async def counts(http: httpx.AsyncClient) -> dict[str, float]:
    """Each histogram's observation count for the demo brand's web chat."""
    body = (await http.get("/metrics")).text
    found = {"switchboard_first_response_seconds": 0.0, "switchboard_resolution_seconds": 0.0}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if (
                sample.name.endswith("_count")
                and sample.name.removesuffix("_count") in found
                and sample.labels == {"brand": demo.BRAND_SLUG, "channel": "webchat"}
            ):
                found[sample.name.removesuffix("_count")] = sample.value
    return found


async def test_a_first_reply_and_a_resolution_move_the_histograms(server: RunningServer) -> None:
    conversation_id = await customer(server, "help please", "clock@example.com")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/console/api/login",
            json={"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD},
        )
        assert response.status_code == 200, response.text
        assert await counts(http) == {
            "switchboard_first_response_seconds": 0.0,
            "switchboard_resolution_seconds": 0.0,
        }
        response = await http.post(f"/console/api/conversations/{conversation_id}/claim")
        assert response.status_code == 200, response.text
        for client_id in ("r1", "r2"):
            response = await http.post(
                f"/console/api/conversations/{conversation_id}/messages",
                json={"text": "On it.", "client_id": client_id},
            )
            assert response.status_code in (200, 201), response.text
        # The first reply only: the clock stops once.
        assert (await counts(http))["switchboard_first_response_seconds"] == 1.0
        response = await http.post(f"/console/api/conversations/{conversation_id}/resolve")
        assert response.status_code == 200, response.text
        assert await counts(http) == {
            "switchboard_first_response_seconds": 1.0,
            "switchboard_resolution_seconds": 1.0,
        }
        body = (await http.get("/metrics")).text
    # Buckets from seconds to days, as support work runs.
    labels = 'brand="demo",channel="webchat"'
    assert f'switchboard_first_response_seconds_bucket{{{labels},le="15.0"}}' in body
    assert f'switchboard_resolution_seconds_bucket{{{labels},le="1.2096e+06"}}' in body


def test_the_grafana_dashboard_reads_only_metrics_the_server_exposes() -> None:
    """deploy/grafana/switchboard.json's queries name metrics /metrics has (a renamed metric
    would leave a panel empty without an error)."""
    document = json.loads((ROOT / "deploy" / "grafana" / "switchboard.json").read_text())
    exprs = [t["expr"] for p in document["panels"] for t in p["targets"]]
    named = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for expr in exprs
        for name in re.findall(r"\bswitchboard_\w+", expr)
    }
    exposed = {family.name for family in Metrics().registry.collect()}
    # prometheus_client names a counter's family without its _total.
    exposed |= {f"{name}_total" for name in exposed}
    assert named, exprs
    assert named <= exposed, named - exposed
    assert {
        "switchboard_queue_depth",
        "switchboard_refused_total",
        "switchboard_handoffs_total",
        "switchboard_first_response_seconds",
        "switchboard_resolution_seconds",
        "switchboard_nlu_seconds",
    } <= named
