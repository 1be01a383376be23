"""The deployment kit, checked as far as a machine without a container engine can: the Dockerfile's shape (stages,
an unprivileged user, nothing installed at start), ``docker-compose.yml`` through Debian's ``docker-compose config``,
and the Kubernetes manifests against the Kubernetes API schemas (``kubernetes-validate``, strict) and each other."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.live import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes" / "base"
KUBERNETES_VERSION = "1.37.0"
INSTALLERS = ("pip ", "npm ", "apt-get", "uv ", "poetry ")
PARLEY_VARIABLES = ("DJANGO_", "PARLEY_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")


def stages(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split into build stages."""
    joined = dockerfile.replace("\\\n", " ")
    instructions = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    found: list[list[str]] = []
    for instruction in instructions:
        if instruction.upper().startswith("FROM "):
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def test_the_image_is_built_in_stages_runs_unprivileged_and_installs_nothing_when_it_starts() -> None:
    # given
    *builders, final = stages((ROOT / "Dockerfile").read_text())

    # then: the bundles, the runner's packages and static files are made while building
    assert builders, "a multi-stage build"
    built = " ".join(builders[0])
    assert "npm run -s build" in built
    assert "ensure_runner()" in built
    assert "collectstatic" in built
    # and the image runs as an unprivileged user, starting the server with nothing to install
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users == ["parley"]
    start = [line for line in final if line.upper().startswith(("CMD ", "ENTRYPOINT "))]
    assert len(start) == 1
    assert "config.serve" in start[0]
    assert not any(installer in start[0] for installer in INSTALLERS)
    assert any(line.upper().startswith("HEALTHCHECK") and "/healthz" in line for line in final)


@pytest.mark.live
def test_the_image_build_steps_run_and_leave_nothing_to_install_at_start(tmp_path: Path) -> None:
    """The build stage's RUN steps after ``COPY . .``, run in a copy of the sources with this machine's virtualenv
    (no container engine runs here): bundles and static files are made, and the runner needs no npm at start."""
    # given a copy of the sources, as COPY . . makes it (.dockerignore's folders left out)
    app = tmp_path / "app"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # noqa: S607
    for name in listed.splitlines():
        if (ROOT / name).is_file():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, app / name)
    build = stages((ROOT / "Dockerfile").read_text())[0]
    steps = [line[4:] for line in build[build.index("COPY . .") + 1 :] if line.startswith("RUN ")]
    # the machine's environment (npm's registry and certificates), without the test run's Django settings
    environment = {key: value for key, value in os.environ.items() if not key.startswith(PARLEY_VARIABLES)}
    environment["PATH"] = f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"

    # when they run
    for step in steps:
        script = step.replace("/app", str(app)).replace("/tmp/build-functions", str(tmp_path / "functions"))  # noqa: S108
        done = subprocess.run(  # noqa: S603
            ["bash", "-c", script], cwd=app, env=environment, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, (step, done.stdout[-2000:], done.stderr[-2000:])

    # then the bundles are among the static files, the sources of the tests are gone, and the runner is ready
    assert (app / "static-root" / "chat" / "chatkitty-core.js").is_file()
    assert not (app / "tests").exists()
    ready = subprocess.run(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "python"), "-c", RUNNER_READY],
        cwd=app,
        env={
            **environment,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "1",
            "PARLEY_FUNCTIONS_DIR": str(tmp_path / "at-start"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ready.stdout.strip() == "ready", ready.stderr


# What a container checks at start: the runner's packages match its lock file, so ensure_runner runs no npm.
RUNNER_READY = """
import hashlib, django
django.setup()
from functions import runtime
stamp = runtime.RUNNER_DIR / "node_modules" / ".parley-lock.sha256"
wanted = hashlib.sha256((runtime.RUNNER_DIR / "package-lock.json").read_bytes()).hexdigest()
print("ready" if stamp.read_text() == wanted else "npm would run")
"""


def compose(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail("Debian's docker-compose is required: run bin/test, which installs it")
    return subprocess.run(  # noqa: S603  (fixed argv)
        [executable, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"), *arguments],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_runs_two_web_replicas_a_worker_and_the_engines_from_the_image() -> None:
    # when
    checked = compose("config", env={"SECRET_KEY": "k", "S3_SECRET_KEY": "s"})

    # then
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(checked.stdout)["services"]
    assert {"web", "worker", "migrate", "postgres", "redis", "minio", "bucket", "proxy"} <= set(services)
    assert services["web"]["deploy"]["replicas"] == 2
    for name in ("web", "worker", "migrate"):
        service = services[name]
        assert service["build"]["context"] == str(ROOT)
        assert "volumes" not in service, f"{name} must not mount the sources"
        command = " ".join(service.get("command", []))
        assert not any(installer in command for installer in INSTALLERS), (name, command)
        assert service["environment"]["PARLEY_STORAGE_URL"].startswith("s3://")
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_docker_compose_refuses_to_start_without_its_secrets() -> None:
    # when
    refused = compose("config", "-q", env={"S3_SECRET_KEY": "s"})

    # then
    assert refused.returncode != 0
    assert "set SECRET_KEY" in refused.stderr


def manifests() -> dict[str, list[dict[str, Any]]]:
    """The documents of each file the kustomization lists."""
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    return {name: list(yaml.safe_load_all((KUBERNETES / name).read_text())) for name in kustomization["resources"]}


def resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource, by kind and name."""
    return {(doc["kind"], doc["metadata"]["name"]): doc for docs in manifests().values() for doc in docs}


def test_the_kustomization_lists_every_manifest_and_each_is_valid_for_kubernetes() -> None:
    # given
    listed = manifests()

    # then
    assert set(listed) == {path.name for path in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    for documents in listed.values():
        for document in documents:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    wanted = {"ConfigMap", "Secret", "Job", "Deployment", "Service", "HorizontalPodAutoscaler"}
    assert wanted | {"PodDisruptionBudget", "Ingress"} <= {kind for kind, _ in resources()}


def test_a_mistyped_manifest_is_caught_by_the_validation() -> None:
    # given
    deployment = resources()[("Deployment", "parley-web")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")

    # then
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_manifests_fit_together() -> None:
    # given
    found = resources()
    web = found[("Deployment", "parley-web")]
    worker = found[("Deployment", "parley-worker")]
    web_pod = web["spec"]["template"]
    container = web_pod["spec"]["containers"][0]

    # then: web pods are ready by /readyz, alive by /healthz, and never run as root
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for deployment in (web, worker, found[("Job", "parley-migrate")]):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
        sources = {ref.get("configMapRef", ref.get("secretRef", {}))["name"] for ref in pod["containers"][0]["envFrom"]}
        assert sources == {"parley-config", "parley-secrets"}
    # and the Service, PDB, HPA and Ingress point at the web pods
    labels = web_pod["metadata"]["labels"]
    assert found[("Service", "parley-web")]["spec"]["selector"].items() <= labels.items()
    assert found[("PodDisruptionBudget", "parley-web")]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert found[("HorizontalPodAutoscaler", "parley-web")]["spec"]["scaleTargetRef"]["name"] == "parley-web"
    backend = found[("Ingress", "parley")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "parley-web"
    assert found[("ConfigMap", "parley-config")]["data"]["PARLEY_API_URL"] == "http://parley-web:8000"


def test_the_compose_proxy_passes_websocket_upgrades() -> None:
    config = (ROOT / "deploy" / "compose" / "nginx.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    assert "proxy_set_header Connection $connection_upgrade;" in config
