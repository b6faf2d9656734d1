"""The deployment files: Kubernetes manifests valid against the API schemas (kubernetes-validate,
no cluster), the compose file with what production needs, images that never migrate at start,
and Rasa without its unauthenticated `rest` channel."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from dropdesk.config import ROOT, Settings, production_problems

K8S = ROOT / "deploy" / "k8s"
DOCKER = ROOT / "docker"
KUBERNETES_VERSION = "1.30.0"
STRONG = "x" * 48


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}"
    return found[0]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _words(command: list[str] | None) -> str:
    return " ".join(command or [])


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", _manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_would_catch_a_mistake() -> None:
    deployment = copy.deepcopy(_one("Deployment", "dropdesk-service"))
    _container(deployment)["readinessprobe"] = {"httpGet": {"path": "/readyz", "port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    del _container(deployment)["readinessprobe"]
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    present = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == present


def test_the_pieces_production_needs_are_there() -> None:
    kinds = [(d["kind"], d["metadata"]["name"]) for d in _manifests()]
    for deployment in ("dropdesk-service", "dropdesk-rasa", "dropdesk-actions"):
        assert ("Deployment", deployment) in kinds
    for service in ("dropdesk-service", "dropdesk-rasa", "actions", "postgres", "redis"):
        assert ("Service", service) in kinds
    for kind in ("Job", "HorizontalPodAutoscaler", "ConfigMap", "Secret", "NetworkPolicy"):
        assert any(k == kind for k, _ in kinds), kind
    for name in ("dropdesk-service", "dropdesk-rasa"):
        assert _one("Deployment", name)["spec"]["replicas"] >= 2
        hpa = _one("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] >= 2


def test_the_service_probes_readyz_and_healthz_and_never_migrates() -> None:
    deployment = _one("Deployment", "dropdesk-service")
    container = _container(deployment)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["command"][:2] == ["dropdesk", "serve"]
    assert "migrate" not in _words(container.get("command")) + _words(container.get("args"))
    (init,) = deployment["spec"]["template"]["spec"]["initContainers"]
    assert "dropdesk migrate --check" in _words(init["command"])  # waits, migrates nothing
    job = _one("Job", "dropdesk-migrate-0-1-0")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["dropdesk", "migrate"]
    assert migrate["image"] == container["image"]


def test_every_container_has_resources_probes_and_runs_as_a_user() -> None:
    for doc in _manifests():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"] + pod.get("initContainers", []):
            assert {"requests", "limits"} <= set(container["resources"]), container["name"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
        if doc["kind"] == "Deployment":
            for container in pod["containers"]:
                assert "readinessProbe" in container and "livenessProbe" in container


def test_config_comes_from_the_configmap_and_the_secret() -> None:
    config = _one("ConfigMap", "dropdesk-config")["data"]
    secret = _one("Secret", "dropdesk-secrets")["stringData"]
    assert config["DROPDESK_ENV"] == "production"
    assert not {k for k in config if "TOKEN" in k or "SECRET" in k or "PASSWORD" in k}
    for name in ("dropdesk-service",):
        for container in _one("Deployment", name)["spec"]["template"]["spec"]["containers"]:
            refs = {next(iter(e.values()))["name"] for e in container["envFrom"]}
            assert refs == {"dropdesk-config", "dropdesk-secrets"}
    # The example's placeholders are refused by the profile; real secrets make it complete.
    example = Settings.model_construct(**_lower({**config, **secret}))
    assert any("DROPDESK_SECRET_KEY" in p for p in production_problems(example))
    real = {**secret, **{k: STRONG for k in secret if k.endswith(("_KEY", "_TOKEN"))}}
    Settings(**_lower({**config, **real}))  # validates: the production profile holds


def _lower(env: dict[str, str]) -> dict[str, str]:
    fields = Settings.model_fields
    values = {k.removeprefix("DROPDESK_").lower(): v for k, v in env.items()}
    return {k: v for k, v in values.items() if k in fields}


def test_only_rasa_reaches_the_action_server() -> None:
    policy = _one("NetworkPolicy", "dropdesk-actions-from-rasa-only")
    actions_labels = _one("Deployment", "dropdesk-actions")["spec"]["template"]["metadata"][
        "labels"
    ]
    rasa_labels = _one("Deployment", "dropdesk-rasa")["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= actions_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert set(source) == {"podSelector"}  # no namespaceSelector or ipBlock: pods of ours
    assert source["podSelector"]["matchLabels"].items() <= rasa_labels.items()
    assert [p["port"] for p in rule["ports"]] == [5055]
    # Rasa's endpoints call the action server by the Service's name.
    endpoints = yaml.safe_load((DOCKER / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"].startswith("http://actions:5055/")
    assert _one("Service", "actions")["spec"]["selector"].items() <= actions_labels.items()
    # And the action server calls the service with the internal token.
    env = {e["name"]: e for e in _container(_one("Deployment", "dropdesk-actions"))["env"]}
    assert env["DROPDESK_INTERNAL_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == (
        "dropdesk-secrets"
    )


def test_rasa_runs_with_a_token_and_without_the_rest_channel() -> None:
    rasa = _container(_one("Deployment", "dropdesk-rasa"))
    command = _words(rasa["command"]) + " " + _words(rasa["args"])
    assert "--auth-token" in command and "DROPDESK_RASA_TOKEN" in command
    assert "--credentials docker/credentials.yml" in command
    dockerfile = (DOCKER / "bot.Dockerfile").read_text()
    assert "--auth-token" in dockerfile and "--credentials docker/credentials.yml" in dockerfile
    assert "bot/credentials.yml" not in dockerfile
    production = yaml.safe_load((DOCKER / "credentials.yml").read_text())
    assert set(production) == {"bot.channels.DropDeskInput"}
    local = yaml.safe_load((ROOT / "bot" / "credentials.yml").read_text())
    assert "rest" in local  # the local bench keeps Rasa's REST channel


# --- compose ----------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yml").read_text())
    return data


def _interpolate(value: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)(:?[?-][^}]*)?\}", lambda m: env[m.group(1)], value)


def test_compose_parses_and_has_what_production_needs() -> None:
    services = _compose()["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "service", "rasa", "actions"}
    assert services["service"]["deploy"]["replicas"] == 2
    assert services["rasa"]["deploy"]["replicas"] == 2
    assert services["service"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("postgres", "redis", "rasa"):
        assert services["service"]["depends_on"][name]["condition"] == "service_healthy"
    for name, service in services.items():
        if name == "migrate":
            assert service["healthcheck"] == {"disable": True}
            assert service["command"] == ["dropdesk", "migrate"]
            assert service["restart"] == "no"
            continue
        assert service["healthcheck"]["test"], name
        command = _words(service.get("command"))
        assert "migrate" not in command, name


def test_compose_builds_the_two_images() -> None:
    services = _compose()["services"]
    for name, dockerfile in (("migrate", "service"), ("service", "service"),
                             ("rasa", "bot"), ("actions", "bot")):  # fmt: skip
        assert services[name]["build"]["dockerfile"] == f"docker/{dockerfile}.Dockerfile"
        assert (DOCKER / f"{dockerfile}.Dockerfile").is_file()
    service_dockerfile = (DOCKER / "service.Dockerfile").read_text()
    cmd = next(line for line in service_dockerfile.splitlines() if line.startswith("CMD"))
    assert "migrate" not in cmd and "serve" in cmd


def test_compose_keeps_the_action_server_and_rasa_inside() -> None:
    services = _compose()["services"]
    published = [name for name, s in services.items() if s.get("ports")]
    assert published == ["proxy"]
    networks = {name: set(s.get("networks", [])) for name, s in services.items()}
    reach_actions = {n for n, nets in networks.items() if nets & networks["actions"]} - {"actions"}
    # Rasa calls it; the service shares only the network on which the actions call /internal.
    assert reach_actions == {"rasa", "service"}
    assert networks["actions"] & networks["service"] == {"internal-api"}
    assert networks["actions"] & networks["rasa"] == {"actions"}
    assert "internal-api" not in networks["rasa"] | networks["proxy"]
    assert not networks["rasa"] & networks["proxy"]
    declared = _compose()["networks"]
    assert all(declared[n].get("internal") for n in ("data", "dialogue", "actions", "internal-api"))
    nginx = (DOCKER / "nginx.conf").read_text()
    assert re.search(r"location /internal/ \{\s*return 404;", nginx)


def test_compose_settings_make_a_production_profile() -> None:
    env = {"POSTGRES_USER": "dropdesk", "POSTGRES_PASSWORD": "pw", "DROPDESK_SECRET_KEY": STRONG,
           "DROPDESK_INTERNAL_TOKEN": STRONG, "DROPDESK_RASA_TOKEN": STRONG}  # fmt: skip
    services = _compose()["services"]
    assert services["service"]["environment"] == services["migrate"]["environment"]
    values = {k: _interpolate(str(v), env) for k, v in services["service"]["environment"].items()}
    settings = Settings(**_lower(values))
    assert production_problems(settings) == []
    assert settings.attachment_backend()[0] == "database"
    # docker/env.example left unchanged does not start.
    example = dict(
        line.split("=", 1)
        for line in (DOCKER / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    environment = services["service"]["environment"].items()
    values = {k: _interpolate(str(v), example) for k, v in environment}
    with pytest.raises(ValueError, match="DROPDESK_SECRET_KEY"):
        Settings(**_lower(values))


def test_the_rasa_database_exists_for_the_tracker_store() -> None:
    assert "CREATE DATABASE rasa" in (DOCKER / "init-rasa-db.sql").read_text()
    postgres = _compose()["services"]["postgres"]
    assert any("init-rasa-db.sql" in v for v in postgres["volumes"])


def test_docker_context_leaves_out_local_state() -> None:
    ignored = Path(ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".venv-bot", "var", "models", ".git"} <= set(ignored)
