"""docker-compose.yml is a valid Compose file describing the production shape."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.harness import ROOT


def _compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if (
        subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    pytest.fail("no docker compose: `make system-deps` installs Debian's docker-compose")


def test_compose_accepts_the_file() -> None:
    result = subprocess.run(
        [*_compose(), "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_two_replicas_share_postgres_and_redis_behind_a_proxy() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector")
    replicas = [s for name, s in services.items() if name.startswith("switchboard-")]
    assert len(replicas) == 2
    for replica in replicas:
        env = replica["environment"]
        assert env["SWITCHBOARD_DATABASE_URL"].endswith("@postgres:5432/switchboard")
        assert env["SWITCHBOARD_REDIS_URL"] == "redis://redis:6379/0"
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "switchboard-1:8000" in nginx
    assert "switchboard-2:8000" in nginx


def test_rasa_and_its_action_server_serve_the_replicas() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert services["rasa"]["image"] == "rasa/rasa:3.6.21-full"
    assert "--enable-api" in services["rasa"]["command"]
    assert services["rasa-actions"]["environment"]["SWITCHBOARD_URL"] == "http://proxy:80"
    for name in ("switchboard-1", "switchboard-2"):
        assert services[name]["environment"]["SWITCHBOARD_RASA_URL"] == "http://rasa:5005"
    endpoints = yaml.safe_load((ROOT / "deploy" / "rasa-endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"] == "http://rasa-actions:5055/webhook"


def test_prometheus_scrapes_every_replica_and_grafana_is_provisioned() -> None:
    """Prometheus scrapes each switchboard-N's /metrics directly; Grafana gets it as its
    default data source and loads deploy/grafana/switchboard.json from the mounted folder;
    both images are pinned."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    replicas = sorted(name for name in services if name.startswith("switchboard-"))
    prometheus, grafana = services["prometheus"], services["grafana"]
    for service in (prometheus, grafana):
        image, _, tag = service["image"].partition(":")
        assert tag, image
        assert tag != "latest"
        assert any(c.isdigit() for c in tag)
    mounts = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"]}
    config = yaml.safe_load((ROOT / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    (job,) = config["scrape_configs"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for c in job["static_configs"] for t in c["targets"]]
    # On each replica's health port, where a scrape does not queue behind a storm.
    ports = {services[name]["environment"]["SWITCHBOARD_HEALTH_PORT"] for name in replicas}
    assert sorted(targets) == [f"{name}:{port}" for name in replicas for port in ports]

    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    assert source["url"] == "http://prometheus:9090"
    assert "9090" in " ".join(prometheus["ports"])
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "switchboard.yml").read_text())[
        "providers"
    ]
    folder = provider["options"]["path"]
    dashboard = mounts[f"{folder}/switchboard.json"]
    assert json.loads((ROOT / dashboard).read_text())["uid"] == "switchboard-overview"


def test_each_replica_is_checked_on_its_health_port() -> None:
    """Docker's health check asks /readyz on the port of its own (SWITCHBOARD_HEALTH_PORT),
    where it does not wait behind the main port's connections."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("switchboard-1", "switchboard-2"):
        replica = spec["services"][name]
        port = replica["environment"]["SWITCHBOARD_HEALTH_PORT"]
        assert f"127.0.0.1:{port}/readyz" in " ".join(replica["healthcheck"]["test"])
