"""The deployment files, checked where they cannot run (no container runtime, no cluster):
Compose by Docker Compose's own `config`, Kubernetes manifests against the API's schemas, the
image's Dockerfile by its parse, and every setting they name against `Settings`."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import compose
import kubernetes_validate
import orjson
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from infra.settings import Settings
from orchestrator.cli.main import app

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "infra" / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_BINARY = Path(compose.__file__).parent / "docker-compose"
NOT_A_FIELD = {"ONETHING_SECRETS_DIR"}  # read before the settings: where secret files are


def setting_names(names: list[str]) -> list[str]:
    """The settings among environment names, as field names (prefix dropped, lower case)."""
    return [
        n.upper().removeprefix("ONETHING_").lower()
        for n in names
        if n.upper().startswith("ONETHING_") and n.upper() not in NOT_A_FIELD
    ]


def unknown(names: list[str]) -> list[str]:
    return sorted(set(setting_names(names)) - set(Settings.model_fields))


def commands() -> set[str]:
    """What `onething` can run (its top-level commands)."""
    return {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}


def compose_config() -> dict[str, Any]:
    done = subprocess.run(
        [str(COMPOSE_BINARY), "-f", str(DEPLOY / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = orjson.loads(done.stdout)
    return config


def manifests() -> list[tuple[str, dict[str, Any]]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [
        (name, doc)
        for name in kustomization["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
    ]


def test_every_deployment_file_parses() -> None:
    for path in sorted(DEPLOY.rglob("*.y*ml")):
        assert list(yaml.safe_load_all(path.read_text())), path


def test_the_compose_file_is_valid_and_names_only_real_settings() -> None:
    services = compose_config()["services"]
    assert {"kafka", "temporal", "postgresql", "prometheus", "setup"} <= set(services)
    ours = {n: s for n, s in services.items() if s.get("image", "").startswith("onething")}
    assert {"worker", "bridge", "departments", "api", "simulators", "setup"} <= set(ours)
    for name, service in ours.items():
        assert unknown(list(service.get("environment", {}))) == [], name
        assert unknown([s["source"] for s in service.get("secrets", [])]) == [], name
        assert service["command"][0] in commands(), name


def test_the_kubernetes_manifests_are_valid_against_the_api_schemas() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    kinds = set()
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")
        kinds.add(doc["kind"])
    assert {"Deployment", "StatefulSet", "Job", "ConfigMap", "Secret", "Service"} <= kinds


def test_the_manifests_name_only_real_settings_and_commands_and_probe_health() -> None:
    for name, doc in manifests():
        if doc["kind"] == "ConfigMap":
            assert unknown(list(doc["data"])) == [], name
        if doc["kind"] == "Secret":
            assert unknown(list(doc["stringData"])) == [], name
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if pod is None:
            continue
        for container in pod["containers"]:
            assert container["args"][0] in commands(), name
            assert unknown([e["name"] for e in container.get("env", [])]) == [], name
            if doc["kind"] != "Job":
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
                assert container["livenessProbe"]["httpGet"]["path"] == "/livez", name
                assert "limits" in container["resources"], name
        assert pod["securityContext"]["runAsNonRoot"] is True, name


def test_the_image_runs_the_package_as_a_user_that_is_not_root() -> None:
    parser = DockerfileParser(str(ROOT / "Dockerfile"))
    final = [i for i in parser.structure if i["instruction"] == "USER"]
    assert final and final[-1]["value"] not in {"root", "0"}
    assert re.search(r'ENTRYPOINT \["onething"\]', parser.content)
    assert unknown(list(parser.envs)) == []


def test_dashboards_and_alerts_ask_only_for_metrics_we_serve() -> None:
    source = "\n".join(
        p.read_text()
        for d in ("orchestrator", "adapters", "infra")
        for p in (ROOT / d).rglob("*.py")
    )
    asked = set()
    for path in (DEPLOY / "alerts.yml", DEPLOY / "grafana" / "onething.json"):
        asked |= set(re.findall(r"\bonething_[a-z_]+", path.read_text()))
    assert asked
    for metric in sorted(asked):
        base = re.sub(r"_(total|bucket|count|sum)$", "", metric)
        assert f'"{base}"' in source, f"{metric} is not a metric of ours"
    dashboard = orjson.loads((DEPLOY / "grafana" / "onething.json").read_bytes())
    assert all(panel["targets"][0]["expr"] for panel in dashboard["panels"])
