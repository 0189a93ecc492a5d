# -*- coding: utf-8 -*-
"""The Kubernetes API test server (fakes/kube.py), driven over HTTP, by the kubernetes client and by
kubernetes.core through ansible-playbook."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request

import pytest
import yaml

from fakes import kube_patch, kube_schema
from fakes.kube import KubeServer
from fakes.kube_controllers import LOAD_BALANCER_IP

APPLY = "application/apply-patch+yaml"


def call(kube: KubeServer, method: str, path: str, body=None, ctype: str = "application/json",
         token: str | None = None) -> tuple[int, dict]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(kube.url + path, data=data, method=method, headers={
        "Content-Type": ctype, "Authorization": f"Bearer {kube.token if token is None else token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ns_path(ns: str, plural: str, name: str = "", api: str = "/api/v1") -> str:
    return f"{api}/namespaces/{ns}/{plural}" + (f"/{name}" if name else "")


def configmap(name: str, ns: str = "default", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


CNPG = "/apis/postgresql.cnpg.io/v1"


def cluster(name: str = "pg", ns: str = "default", **spec) -> dict:
    return {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": name, "namespace": ns},
            "spec": {"instances": 1, "storage": {"size": "1Gi"}, **spec}}


# -- the pure pieces -------------------------------------------------------------------------------
def test_server_side_apply_merge_semantics():
    live = {"metadata": {"name": "a", "labels": {"mine": "1", "theirs": "2"}}, "data": {"x": "1", "y": "2", "o": "3"}}
    before = {"metadata": {"name": "a", "labels": {"mine": "1"}}, "data": {"x": "1", "y": "2"}}
    now = {"metadata": {"name": "a"}, "data": {"x": "9"}}
    merged = kube_patch.server_side_apply(live, before, now)
    assert merged == {"metadata": {"name": "a", "labels": {"theirs": "2"}}, "data": {"x": "9", "o": "3"}}
    # A field another applier sets too stays when one of them stops applying it: it is still owned.
    shared = kube_patch.server_side_apply(live, before, now, [{"data": {"y": "2"}}])
    assert shared["data"] == {"x": "9", "y": "2", "o": "3"}
    # Only the object's own apiVersion/kind are not fields; an embedded kind or a pod template's metadata are.
    assert kube_patch.fields_v1({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"l": "1"}},
                                 "spec": {"names": {"kind": "Y"}, "template": {"metadata": {"name": "t"}}}}) == {
        "f:metadata": {"f:labels": {"f:l": {}}},
        "f:spec": {"f:names": {"f:kind": {}}, "f:template": {"f:metadata": {"f:name": {}}}}}
    assert kube_patch.apply_conflicts({"data": {"x": "9"}}, live, {"other": {"data": {"x": "1"}}}) == [("other", ".data.x")]
    assert kube_patch.strategic_merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}) == {"a": {"d": 3}}
    assert kube_patch.merge_patch({"a": [1, 2], "b": 1}, {"a": [3], "b": None}) == {"a": [3]}


def test_structural_schema_reading():
    schema = {"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "note": {"type": "string", "nullable": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                  "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "mode": {"type": "string", "default": "fast"}}}
    validator = kube_schema.crd_validator(schema)
    assert kube_schema.errors_of(validator, {"port": "smtp", "note": None, "free": {"any": 1}, "items": [{"name": "a"}]}) == []
    fields = [cause[0] for cause in kube_schema.errors_of(validator, {"port": 1.5, "typo": 1, "items": [{"name": "a"}, {"name": "a"}]})]
    assert sorted(fields) == ["items[1]", "port", "typo"]
    assert kube_schema.apply_defaults(schema, {})["mode"] == "fast"


def test_bad_selectors_are_rejected(kube):
    assert call(kube, "GET", "/api/v1/configmaps?labelSelector=a+in+b")[0] == 400
    assert call(kube, "GET", "/api/v1/configmaps?labelSelector=!a%3Db")[0] == 400


# -- HTTP-level behaviour ---------------------------------------------------------------------------
def test_discovery_version_and_auth(kube, shared_dir):
    assert call(kube, "GET", "/version")[1]["gitVersion"].startswith("v1.")
    assert call(kube, "GET", "/api/v1", token="wrong")[0] == 401
    code, core = call(kube, "GET", "/api/v1")
    assert code == 200 and core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["secrets"]["namespaced"] and by_name["secrets"]["kind"] == "Secret"
    assert not by_name["namespaces"]["namespaced"] and "namespaces/status" in by_name
    groups = {g["name"]: g for g in call(kube, "GET", "/apis")[1]["groups"]}
    for group in ("apps", "batch", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
                  "apiextensions.k8s.io", "postgresql.cnpg.io", "cert-manager.io", "minio.min.io",
                  "monitoring.coreos.com", "barmancloud.cnpg.io", "sts.min.io"):
        assert group in groups, group
    assert groups["sts.min.io"]["preferredVersion"]["version"] == "v1beta1"
    cnpg = {r["name"]: r for r in call(kube, "GET", CNPG)[1]["resources"]}
    assert cnpg["clusters"]["kind"] == "Cluster" and {"clusters/status", "clusters/scale"} <= set(cnpg)
    assert call(kube, "GET", "/apis/gateway.networking.k8s.io/v1/httproutes")[0] == 404
    assert call(kube, "GET", "/apis/no.such.group/v1")[0] == 404


def test_create_get_conflict_and_metadata(kube):
    code, created = call(kube, "POST", ns_path("default", "configmaps"), configmap("a", x="1"))
    assert code == 201
    meta = created["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"].endswith("Z")
    assert call(kube, "POST", ns_path("default", "configmaps"), configmap("a"))[1]["reason"] == "AlreadyExists"
    code, missing = call(kube, "GET", ns_path("default", "configmaps", "nope"))
    assert code == 404 and missing["message"] == 'configmaps "nope" not found'
    # PUT with the same content: no new resourceVersion, no write.
    before = kube.writes
    code, same = call(kube, "PUT", ns_path("default", "configmaps", "a"), created)
    assert code == 200 and same["metadata"]["resourceVersion"] == meta["resourceVersion"] and kube.writes == before
    stale = dict(created, data={"x": "2"})
    code, updated = call(kube, "PUT", ns_path("default", "configmaps", "a"), stale)
    assert code == 200 and int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert call(kube, "PUT", ns_path("default", "configmaps", "a"), stale)[0] == 409  # resourceVersion is stale now


def test_body_must_match_url(kube):
    code, err = call(kube, "POST", ns_path("default", "configmaps"), configmap("a", ns="other"))
    assert code == 400 and "namespace of the provided object does not match" in err["message"]
    call(kube, "POST", ns_path("default", "configmaps"), configmap("a"))
    code, err = call(kube, "PUT", ns_path("default", "configmaps", "a"), configmap("b"))
    assert code == 400 and "(b) does not match the name on the URL (a)" in err["message"]
    code, err = call(kube, "POST", ns_path("default", "configmaps"), dict(configmap("a"), kind="Secret"))
    assert code == 400


def test_namespace_lifecycle(kube):
    code, err = call(kube, "POST", ns_path("mail", "configmaps"), configmap("a", ns="mail"))
    assert code == 404 and err["message"] == 'namespaces "mail" not found'
    code, ns = call(kube, "POST", "/api/v1/namespaces",
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}})
    assert code == 201 and ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "mail"
    assert call(kube, "GET", "/api/v1/namespaces/mail")[1]["status"]["phase"] == "Active"
    assert call(kube, "POST", ns_path("mail", "configmaps"), configmap("a", ns="mail"))[0] == 201
    code, gone = call(kube, "DELETE", "/api/v1/namespaces/mail")
    assert code == 200 and gone["status"]["phase"] == "Terminating"
    assert call(kube, "GET", "/api/v1/namespaces/mail")[0] == 404
    assert kube.get("ConfigMap", "a", "mail") is None
    assert call(kube, "POST", "/api/v1/namespaces", {"metadata": {"name": "Bad_Name"}})[0] == 422


def test_generate_name_delete_collection_and_orphans(kube):
    path = ns_path("default", "configmaps")
    code, made = call(kube, "POST", path, {"metadata": {"generateName": "job-", "labels": {"run": "x"}}})
    assert code == 201 and made["metadata"]["name"].startswith("job-") and len(made["metadata"]["name"]) > 4
    call(kube, "POST", path, dict(configmap("keep"), metadata={"name": "keep", "labels": {"run": "y"}}))
    code, deleted = call(kube, "DELETE", path + "?labelSelector=run%3Dx")
    assert code == 200 and [i["metadata"]["name"] for i in deleted["items"]] == [made["metadata"]["name"]]
    assert [c["metadata"]["name"] for c in kube.list("ConfigMap", "default")] == ["keep"]
    owner = kube.get("ConfigMap", "keep", "default")
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "keep", "uid": owner["metadata"]["uid"]}
    call(kube, "POST", path, {"metadata": {"name": "child", "ownerReferences": [ref]}})
    assert call(kube, "DELETE", path + "/keep", {"propagationPolicy": "Orphan"})[0] == 200
    assert kube.get("ConfigMap", "child", "default") is not None
    assert call(kube, "DELETE", path + "/child?propagationPolicy=Sometimes")[0] == 422


def test_secret_string_data_is_stored_as_data(kube):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"},
            "data": {"user": base64.b64encode(b"me").decode()}}
    code, secret = call(kube, "POST", ns_path("default", "secrets"), body)
    assert code == 201 and "stringData" not in secret and secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2" and "user" in secret["data"]
    assert "stringData" not in kube.get("Secret", "s", "default")
    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}, "data": {"k": "not base64!"}}
    code, err = call(kube, "POST", ns_path("default", "secrets"), bad)
    assert code == 422 and "data[k]" in err["message"]


def test_size_limits(kube):
    big = "x" * (600 * 1024)
    code, err = call(kube, "POST", ns_path("default", "configmaps"), configmap("big", a=big, b=big))
    assert code == 422 and "Too long: must have at most 1048576 bytes" in err["message"]
    annotated = configmap("note")
    annotated["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "y" * 300000}
    code, err = call(kube, "POST", ns_path("default", "configmaps"), annotated)
    assert code == 422 and "metadata.annotations: Too long" in err["message"]
    assert call(kube, "POST", ns_path("default", "configmaps"), configmap("fits", a=big))[0] == 201


def test_patch_flavours(kube):
    call(kube, "POST", ns_path("default", "configmaps"), configmap("a", x="1", y="2"))
    path = ns_path("default", "configmaps", "a")
    assert call(kube, "PATCH", path, {"data": {"y": None, "z": "3"}},
                "application/merge-patch+json")[1]["data"] == {"x": "1", "z": "3"}
    assert call(kube, "PATCH", path, {"data": {"x": "9"}},
                "application/strategic-merge-patch+json")[1]["data"] == {"x": "9", "z": "3"}
    ops = [{"op": "replace", "path": "/data/x", "value": "10"}, {"op": "remove", "path": "/data/z"}]
    assert call(kube, "PATCH", path, ops, "application/json-patch+json")[1]["data"] == {"x": "10"}
    code, err = call(kube, "PATCH", path, [{"op": "remove", "path": "/data/missing"}], "application/json-patch+json")
    assert code == 422
    code, err = call(kube, "PATCH", path, {"data": {"x": 5}}, "application/merge-patch+json")
    assert code == 422 and "data.x" in err["message"]


def test_server_side_apply(kube):
    path = ns_path("default", "configmaps", "a")
    body = yaml.safe_dump(configmap("a", x="1", y="2")).encode()
    assert call(kube, "PATCH", path, body, APPLY)[0] == 400  # fieldManager is required
    code, created = call(kube, "PATCH", path + "?fieldManager=one", body, APPLY)
    assert code == 201 and created["data"] == {"x": "1", "y": "2"}
    assert created["metadata"]["managedFields"][0]["manager"] == "one"
    writes = kube.writes
    code, again = call(kube, "PATCH", path + "?fieldManager=one", body, APPLY)
    assert code == 200 and again == created and kube.writes == writes  # a no-op apply changes nothing
    assert kube.log[-1].verb == "apply" and not kube.log[-1].changed
    # A field the manager stops applying goes away; one set by someone else stays.
    call(kube, "PATCH", path, {"data": {"other": "o"}}, "application/merge-patch+json")
    code, dropped = call(kube, "PATCH", path + "?fieldManager=one", configmap("a", x="1"), APPLY)
    assert dropped["data"] == {"x": "1", "other": "o"}
    # Two appliers disagreeing on a field conflict unless one forces.
    code, err = call(kube, "PATCH", path + "?fieldManager=two", configmap("a", x="2"), APPLY)
    assert code == 409 and 'conflict with "one"' in err["message"]
    code, forced = call(kube, "PATCH", path + "?fieldManager=two&force=true", configmap("a", x="2"), APPLY)
    assert code == 200 and forced["data"]["x"] == "2"
    # Forced, the field moved: "one" owns it no more, so it goes when "two" stops applying it.
    owners = {e["manager"]: e["fieldsV1"] for e in forced["metadata"]["managedFields"]}
    assert owners["one"] == {} and owners["two"] == {"f:data": {"f:x": {}}}
    code, released = call(kube, "PATCH", path + "?fieldManager=two", configmap("a", y="3"), APPLY)
    assert "x" not in released["data"]


def test_dry_run_stores_nothing(kube):
    base = dict(kube.counters())
    path = ns_path("default", "configmaps")
    code, would = call(kube, "POST", path + "?dryRun=All", configmap("a", x="1"))
    assert code == 201 and would["data"] == {"x": "1"} and kube.get("ConfigMap", "a", "default") is None
    assert call(kube, "PATCH", path + "/a?dryRun=All&fieldManager=m", configmap("a"), APPLY)[0] == 201
    assert kube.get("ConfigMap", "a", "default") is None
    assert call(kube, "POST", path + "?dryRun=All", configmap("a", x=1))[0] == 422  # still validated
    call(kube, "POST", path, configmap("a", x="1"))
    code, patched = call(kube, "PATCH", path + "/a?dryRun=All", {"data": {"x": "2"}}, "application/merge-patch+json")
    assert patched["data"]["x"] == "2" and kube.get("ConfigMap", "a", "default")["data"]["x"] == "1"
    assert call(kube, "DELETE", path + "/a?dryRun=All")[0] == 200 and kube.get("ConfigMap", "a", "default")
    counters = kube.counters()
    assert counters["dry_run_requests"] - base["dry_run_requests"] == 5
    assert counters["writes"] - base["writes"] == 1 and counters["mutating_requests"] - base["mutating_requests"] == 1


def test_list_and_selectors(kube):
    call(kube, "POST", "/api/v1/namespaces", {"metadata": {"name": "other"}})
    for name, ns, labels in (("a", "default", {"app": "mail", "tier": "db"}), ("b", "default", {"app": "mail"}),
                             ("c", "default", {"app": "web"}), ("d", "other", {"app": "mail"})):
        call(kube, "POST", ns_path(ns, "configmaps"), dict(configmap(name, ns), metadata={
            "name": name, "namespace": ns, "labels": labels}))
    code, listed = call(kube, "GET", ns_path("default", "configmaps"))
    assert code == 200 and listed["kind"] == "ConfigMapList" and listed["apiVersion"] == "v1"
    assert listed["metadata"]["resourceVersion"]

    def names(query: str, path: str = ns_path("default", "configmaps")) -> list[str]:
        code, body = call(kube, "GET", f"{path}?{query}")
        assert code == 200, body
        return [item["metadata"]["name"] for item in body["items"]]

    assert names("labelSelector=app%3Dmail") == ["a", "b"]
    assert names("labelSelector=app!%3Dmail") == ["c"]
    assert names("labelSelector=app+in+(mail,web),tier") == ["a"]
    assert names("labelSelector=app+notin+(mail),!tier") == ["c"]
    assert names("labelSelector=app%3D%3Dmail", "/api/v1/configmaps") == ["a", "b", "d"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert names("fieldSelector=metadata.namespace%3Dother", "/api/v1/configmaps") == ["d"]
    assert call(kube, "GET", ns_path("default", "configmaps") + "?fieldSelector=data.x%3D1")[0] == 400


def test_schema_violations_are_rejected(kube, shared_dir):
    code, err = call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster(instances="three", bogus=True))
    assert code == 422 and err["reason"] == "Invalid"
    fields = {c["field"] for c in err["details"]["causes"]}
    assert {"spec.instances", "spec.bogus"} <= fields
    assert err["message"].startswith('Cluster.postgresql.cnpg.io "pg" is invalid: ')
    code, err = call(kube, "POST", ns_path("default", "clusters", api=CNPG),
                     cluster(storage={"size": "1Gi"}, primaryUpdateStrategy="sometimes"))
    assert code == 422 and "spec.primaryUpdateStrategy" in err["message"]
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "s",
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"port": 80}]}]}}}}
    code, err = call(kube, "POST", ns_path("default", "statefulsets", api="/apis/apps/v1"), sts)
    assert code == 422 and "spec.template.spec.containers[0].ports[0]" in err["message"]
    assert kube.writes == 0 and kube.list("Cluster") == []


def test_custom_resource_defaults_and_generation(kube, shared_dir):
    code, created = call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster())
    assert code == 201 and created["metadata"]["generation"] == 1
    assert created["spec"]["logLevel"] == "info"  # a default from the CRD schema
    path = ns_path("default", "clusters", "pg", api=CNPG)
    labelled = call(kube, "PATCH", path, {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")[1]
    assert labelled["metadata"]["generation"] == 1
    assert call(kube, "PATCH", path, {"spec": {"instances": 3}},
                "application/merge-patch+json")[1]["metadata"]["generation"] == 2
    # The status subresource: status is ignored on the main resource and written through /status.
    call(kube, "PATCH", path, {"status": {"phase": "hacked"}}, "application/merge-patch+json")
    assert kube.get("Cluster", "pg", "default")["status"]["phase"] == "Cluster in healthy state"
    code, patched = call(kube, "PATCH", path + "/status", {"status": {"phase": "switchover"}},
                         "application/merge-patch+json")
    assert code == 200 and patched["status"]["phase"] == "switchover" and patched["spec"]["instances"] == 3
    # ... and the simulated operator then reconciles it back, as CNPG would.
    assert kube.get("Cluster", "pg", "default")["status"]["phase"] == "Cluster in healthy state"


def test_crd_created_through_the_api_registers_its_kind(kube_factory, shared_dir):
    kube = kube_factory(crd_dir=None)
    assert call(kube, "GET", CNPG)[0] == 404
    crd = yaml.safe_load((shared_dir / "crds" / "cnpg-cluster.yaml").read_text())
    assert call(kube, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
    status = kube.get("CustomResourceDefinition", "clusters.postgresql.cnpg.io")["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]}["Established"] == "True"
    assert call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster())[0] == 201
    assert call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster("x", bogus=1))[0] == 422
    bad = dict(crd, metadata={"name": "wrong.example.org"})
    assert call(kube, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", bad)[0] == 422
    assert call(kube, "DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.postgresql.cnpg.io")[0] == 200
    assert call(kube, "GET", ns_path("default", "clusters", api=CNPG))[0] == 404


def test_operators_part(kube, shared_dir):
    initdb = {"initdb": {"database": "stalwart", "owner": "stalwart"}}
    call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster(enableSuperuserAccess=True, bootstrap=initdb))
    pg = kube.get("Cluster", "pg", "default")
    assert pg["status"]["phase"] == "Cluster in healthy state"
    assert {c["type"]: c["status"] for c in pg["status"]["conditions"]}["Ready"] == "True"
    app = kube.get("Secret", "pg-app", "default")
    decoded = {k: base64.b64decode(v).decode() for k, v in app["data"].items()}
    assert decoded["username"] == "stalwart" and decoded["dbname"] == "stalwart" and decoded["host"] == "pg-rw"
    assert decoded["port"] == "5432" and decoded["uri"].startswith("postgresql://stalwart:")
    assert kube.get("Secret", "pg-superuser", "default") is not None
    assert {s["metadata"]["name"] for s in kube.list("Service", "default")} >= {"pg-rw", "pg-ro", "pg-r"}
    # The garbage collector follows ownerReferences.
    call(kube, "DELETE", ns_path("default", "clusters", "pg", api=CNPG))
    assert kube.get("Secret", "pg-app", "default") is None and kube.get("Service", "pg-rw", "default") is None

    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mail"},
           "spec": {"type": "LoadBalancer", "selector": {"app": "mail"}, "ports": [{"name": "smtp", "port": 25}]}}
    call(kube, "POST", ns_path("default", "services"), svc)
    stored = kube.get("Service", "mail", "default")
    assert stored["status"]["loadBalancer"]["ingress"][0]["ip"] == LOAD_BALANCER_IP
    assert stored["spec"]["ports"][0]["targetPort"] == 25 and stored["spec"]["clusterIP"].startswith("10.96.")

    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "stalwart"},
           "spec": {"replicas": 2, "serviceName": "stalwart", "selector": {"matchLabels": {"app": "mail"}},
                    "template": {"metadata": {"labels": {"app": "mail"}},
                                 "spec": {"containers": [{"name": "stalwart", "image": "stalwart:1"}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}
    call(kube, "POST", ns_path("default", "statefulsets", api="/apis/apps/v1"), sts)
    status = kube.get("StatefulSet", "stalwart", "default")["status"]
    assert status["readyReplicas"] == 2 and status["currentRevision"] == status["updateRevision"]
    assert kube.get("Pod", "stalwart-1", "default")["status"]["containerStatuses"][0]["ready"]
    assert kube.get("PersistentVolumeClaim", "data-stalwart-0", "default")["status"]["phase"] == "Bound"
    assert kube.get("Pod", "stalwart-0", "default")["metadata"]["labels"]["controller-revision-hash"] == \
        status["updateRevision"]
    sts_path = ns_path("default", "statefulsets", "stalwart", api="/apis/apps/v1")
    kube.pod_grace_seconds = 0.2
    call(kube, "PATCH", sts_path, {"spec": {"replicas": 0}}, "application/strategic-merge-patch+json")
    assert kube.get("StatefulSet", "stalwart", "default")["status"]["replicas"] == 0
    assert all(p["metadata"]["deletionTimestamp"] for p in kube.list("Pod", "default"))  # terminating ...
    time.sleep(0.6)
    assert kube.list("Pod", "default") == []  # ... and gone after their grace period
    call(kube, "PATCH", sts_path, {"spec": {"replicas": 1}}, "application/strategic-merge-patch+json")
    assert [p["metadata"]["name"] for p in kube.list("Pod", "default")] == ["stalwart-0"]
    running = call(kube, "GET", "/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning")[1]["items"]
    assert [p["metadata"]["name"] for p in running] == ["stalwart-0"]
    # volumeClaimTemplates are defaulted like upstream, so re-sending the manifest after a scale is no change.
    assert call(kube, "PATCH", sts_path + "?fieldManager=m", sts, APPLY)[0] == 200
    assert call(kube, "PATCH", sts_path + "?fieldManager=m", sts, APPLY)[1]["spec"]["volumeClaimTemplates"][0][
        "spec"]["volumeMode"] == "Filesystem"
    writes = kube.writes
    call(kube, "PATCH", sts_path + "?fieldManager=m", sts, APPLY)
    assert kube.writes == writes
    changed = dict(sts, spec=dict(sts["spec"], volumeClaimTemplates=[]))
    code, err = call(kube, "PUT", ns_path("default", "statefulsets", "stalwart", api="/apis/apps/v1"), changed)
    assert code == 422 and "Forbidden: updates to statefulset spec" in err["message"]
    assert "(changed: spec.volumeClaimTemplates)" in err["message"]

    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "mail"},
            "spec": {"secretName": "mail-tls", "dnsNames": ["mail.example.org"],
                     "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}}
    assert call(kube, "POST", ns_path("default", "certificates", api="/apis/cert-manager.io/v1"), cert)[0] == 201
    tls = kube.get("Secret", "mail-tls", "default")
    assert tls["type"] == "kubernetes.io/tls"
    assert b"BEGIN CERTIFICATE" in base64.b64decode(tls["data"]["tls.crt"])
    typed = call(kube, "GET", "/api/v1/secrets?fieldSelector=type%3Dkubernetes.io/tls")[1]["items"]
    assert [s["metadata"]["name"] for s in typed] == ["mail-tls"]


def test_controllers_can_be_switched_off_and_delayed(kube_factory, shared_dir):
    kube = kube_factory(controllers={"Cluster.postgresql.cnpg.io": False})
    seeded = kube.seed(dict(cluster("seeded"), status={"phase": "Setting up primary"}))
    assert seeded["status"]["phase"] == "Setting up primary" and kube.writes == 0
    call(kube, "POST", ns_path("default", "clusters", api=CNPG), cluster())
    assert "status" not in kube.get("Cluster", "pg", "default") and kube.get("Secret", "pg-app", "default") is None
    kube.set_controller("Cluster.postgresql.cnpg.io", True)
    kube.reconcile()
    assert kube.get("Cluster", "pg", "default")["status"]["phase"] == "Cluster in healthy state"

    slow = kube_factory(controller_delay=0.5)
    call(slow, "POST", ns_path("default", "clusters", api=CNPG), cluster())
    assert "status" not in slow.get("Cluster", "pg", "default")
    time.sleep(1.0)
    assert slow.get("Cluster", "pg", "default")["status"]["phase"] == "Cluster in healthy state"


def test_kubernetes_client_dynamic_discovery(kube):
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes.dynamic import DynamicClient  # pylint: disable=import-outside-toplevel
    client = DynamicClient(kubernetes.config.new_client_from_config(str(kube.kubeconfig)))
    secrets = client.resources.get(api_version="v1", kind="Secret")
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"},
            "stringData": {"k": "v"}}
    first = secrets.server_side_apply(body=body, name="s", namespace="default", field_manager="t")
    second = secrets.server_side_apply(body=body, name="s", namespace="default", field_manager="t")
    assert first.metadata.resourceVersion == second.metadata.resourceVersion
    listed = secrets.get(namespace="default", label_selector="")
    assert listed.kind == "SecretList" and [i.metadata.name for i in listed.items] == ["s"]
    with pytest.raises(kubernetes.dynamic.exceptions.NotFoundError):
        secrets.get(name="missing", namespace="default")


# -- through ansible-playbook and kubernetes.core ---------------------------------------------------
SSA = {"apply": True, "server_side_apply": {"field_manager": "openova.stalwart"}}


def _manifests(greeting: str) -> list[tuple[str, list[dict], dict]]:
    """(task name, manifests, extra k8s options) of a small mail stack, in apply order."""
    labels = {"app.kubernetes.io/name": "stalwart", "app.kubernetes.io/part-of": "openova"}
    base = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stalwart-config", "namespace": "mail",
                                                               "labels": labels},
         "data": {"greeting": greeting}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "stalwart-env", "namespace": "mail", "labels": labels},
         "stringData": {"STALWART_RECOVERY_ADMIN": "admin:pw"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "stalwart", "namespace": "mail", "labels": labels},
         "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"name": "smtp", "port": 25, "targetPort": 25}]}},
    ]
    ready = {"wait": True, "wait_condition": {"type": "Ready", "status": "True"}, "wait_timeout": 20}
    return [
        ("Base", base, {"no_log": True}),
        ("Postgres", [{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                       "metadata": {"name": "pg", "namespace": "mail"},
                       "spec": {"instances": 1, "storage": {"size": "1Gi"},
                                "bootstrap": {"initdb": {"database": "stalwart", "owner": "stalwart"}}}}], ready),
        ("StatefulSet", [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                          "metadata": {"name": "stalwart", "namespace": "mail", "labels": labels},
                          "spec": {"serviceName": "stalwart", "selector": {"matchLabels": labels},
                                   "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                                       {"name": "stalwart", "image": "stalwartlabs/stalwart:v0.16.18"}]}}}}],
         {"wait": True, "wait_timeout": 20}),
        ("Certificate", [{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                          "metadata": {"name": "mail", "namespace": "mail"},
                          "spec": {"secretName": "mail-tls", "dnsNames": ["mail.example.org"],
                                   "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}}], ready),
    ]


def _plays(kube: KubeServer, tasks: list[dict]) -> list[dict]:
    return [{"hosts": "localhost", "gather_facts": False,
             "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": str(kube.kubeconfig)}},
             "tasks": tasks}]


def _converge(kube: KubeServer, greeting: str = "hello", mode: dict | None = None, only: str = "") -> list[dict]:
    tasks = []
    for name, manifests, extra in _manifests(greeting):
        if only and name != only:
            continue
        task_opts = {k: v for k, v in extra.items() if k == "no_log"}
        module = {k: v for k, v in extra.items() if k != "no_log"}
        definition = manifests[0] if len(manifests) == 1 else manifests
        tasks.append({"name": name, "kubernetes.core.k8s": {**(mode or SSA), "definition": definition, **module},
                      **task_opts})
    return _plays(kube, tasks)


def _written(kube: KubeServer, since: int) -> list[tuple[str, str]]:
    return [(e.kind, e.name) for e in kube.log[since:] if e.changed]


def test_converge_idempotence_check_mode_and_targeted_change(kube, shared_dir, playbook):
    first = playbook(_converge(kube))
    assert first.rc == 0, first.stdout[-3000:]
    assert _written(kube, 0) == [("Namespace", "mail"), ("ConfigMap", "stalwart-config"), ("Secret", "stalwart-env"),
                                 ("Service", "stalwart"), ("Cluster", "pg"), ("StatefulSet", "stalwart"),
                                 ("Certificate", "mail")]
    assert first.changed == 4
    assert first.task("Postgres")["result"]["status"]["phase"] == "Cluster in healthy state"
    assert kube.get("Secret", "pg-app", "mail") is not None and kube.get("Secret", "mail-tls", "mail") is not None
    assert "admin:pw" not in first.stdout

    mark, counters = len(kube.log), kube.counters()
    second = playbook(_converge(kube))
    assert second.rc == 0 and second.changed == 0, second.stdout[-3000:]
    assert kube.writes == counters["writes"] and _written(kube, mark) == []
    assert kube.mutating_requests - counters["mutating_requests"] == 7  # seven no-op applies

    counters = kube.counters()
    check = playbook(_converge(kube, greeting="bonjour"), check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert kube.writes == counters["writes"] and kube.mutating_requests == counters["mutating_requests"]
    assert kube.dry_run_requests - counters["dry_run_requests"] == 7
    assert check.task("Base")["changed"] and check.changed == 1
    assert kube.get("ConfigMap", "stalwart-config", "mail")["data"] == {"greeting": "hello"}

    mark = len(kube.log)
    changed = playbook(_converge(kube, greeting="bonjour"))
    assert changed.rc == 0 and changed.changed == 1
    assert _written(kube, mark) == [("ConfigMap", "stalwart-config")]
    assert kube.get("ConfigMap", "stalwart-config", "mail")["data"] == {"greeting": "bonjour"}


def test_client_side_apply_and_k8s_info_selectors(kube, shared_dir, playbook):
    plays = _converge(kube, mode={"apply": True}, only="Base")
    assert playbook(plays).rc == 0
    mark = kube.writes
    kube.seed({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "pg", "namespace": "mail"},
               "spec": {"instances": 1, "storage": {"size": "1Gi"}}})
    plays[0]["tasks"] += [
        {"name": "By label", "kubernetes.core.k8s_info": {
            "kubeconfig": str(kube.kubeconfig), "kind": "ConfigMap", "namespace": "mail",
            "label_selectors": ["app.kubernetes.io/name=stalwart", "app.kubernetes.io/part-of in (openova)"]}},
        {"name": "Secrets of the cluster", "kubernetes.core.k8s_info": {
            "kubeconfig": str(kube.kubeconfig), "kind": "Secret", "namespace": "mail",
            "label_selectors": ["cnpg.io/cluster=pg"]}},
        {"name": "No match", "kubernetes.core.k8s_info": {
            "kubeconfig": str(kube.kubeconfig), "kind": "Service", "namespace": "mail",
            "label_selectors": ["app.kubernetes.io/name!=stalwart", "cnpg.io/cluster notin (pg)"]}},
    ]
    again = playbook(plays)
    assert again.rc == 0 and again.changed == 0 and kube.writes == mark, again.stdout[-3000:]
    assert [r["metadata"]["name"] for r in again.task("By label")["resources"]] == ["stalwart-config"]
    assert [r["metadata"]["name"] for r in again.task("Secrets of the cluster")["resources"]] == ["pg-app"]
    assert again.task("No match")["resources"] == []


def test_schema_violations_fail_the_task(kube, shared_dir, playbook):
    plays = _plays(kube, [
        {"name": "Bad cluster", "ignore_errors": True, "kubernetes.core.k8s": {**SSA, "definition": {
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "pg", "namespace": "default"},
            "spec": {"instances": "one", "storage": {"size": "1Gi"}}}}},
        {"name": "Bad service", "ignore_errors": True, "kubernetes.core.k8s": {**SSA, "definition": {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
            "spec": {"ports": [{"port": 25, "protocl": "TCP"}]}}}},
        {"name": "Missing namespace", "ignore_errors": True, "kubernetes.core.k8s": {**SSA, "definition": {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "nowhere"}}}},
    ])
    result = playbook(plays)
    assert result.task("Bad cluster")["failed"] and "spec.instances" in result.task("Bad cluster")["msg"]
    assert "unknown field" in result.task("Bad service")["msg"] and "protocl" in result.task("Bad service")["msg"]
    missing = result.task("Missing namespace")["msg"]
    assert "namespaces" in missing and "nowhere" in missing and "not found" in missing
    assert kube.writes == 0


def test_install_crd_wait_established_then_use_it(kube_factory, shared_dir, playbook):
    kube = kube_factory(crd_dir=None)
    crd = yaml.safe_load((shared_dir / "crds" / "minio-tenant.yaml").read_text())
    tenant = {"apiVersion": "minio.min.io/v2", "kind": "Tenant", "metadata": {"name": "s3", "namespace": "default"},
              "spec": {"pools": [{"name": "pool-0", "servers": 1, "volumesPerServer": 1, "volumeClaimTemplate": {
                  "metadata": {"name": "data"},
                  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}]}}
    plays = _plays(kube, [
        {"name": "CRD", "kubernetes.core.k8s": {
            **SSA, "definition": crd, "wait": True, "wait_timeout": 20,
            "wait_condition": {"type": "Established", "status": "True"}}},
        {"name": "Tenant", "kubernetes.core.k8s": {**SSA, "definition": tenant}},
        {"name": "Wait for the tenant", "kubernetes.core.k8s_info": {
            "kind": "Tenant", "api_version": "minio.min.io/v2", "name": "s3", "namespace": "default"},
         "register": "tenant", "until": "tenant.resources[0].status.currentState | default('') == 'Initialized'",
         "retries": 5, "delay": 1},
    ])
    result = playbook(plays)
    assert result.rc == 0, result.stdout[-3000:]
    assert [(e.kind, e.name) for e in kube.changes()] == [("CustomResourceDefinition", "tenants.minio.min.io"),
                                                          ("Tenant", "s3")]


def test_namespace_lifecycle_and_wait_timeout(kube_factory, shared_dir, playbook):
    kube = kube_factory(controllers={"Cluster.postgresql.cnpg.io": False})
    plays = _plays(kube, [
        {"name": "Create", "kubernetes.core.k8s": {**SSA, "definition": {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mail"}}}},
        {"name": "Cluster that never gets ready", "ignore_errors": True, "kubernetes.core.k8s": {
            **SSA, "definition": {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
                                  "metadata": {"name": "pg", "namespace": "mail"},
                                  "spec": {"instances": 1, "storage": {"size": "1Gi"}}},
            "wait": True, "wait_condition": {"type": "Ready", "status": "True"},
            "wait_timeout": 2, "wait_sleep": 1}},
        {"name": "Delete", "kubernetes.core.k8s": {
            "state": "absent", "wait": True, "wait_timeout": 10, "kind": "Namespace", "name": "mail"}},
        {"name": "Delete again", "kubernetes.core.k8s": {"state": "absent", "kind": "Namespace", "name": "mail"}},
    ])
    result = playbook(plays)
    assert result.rc == 0, result.stdout[-3000:]
    assert result.task("Create")["changed"]
    assert "Timed out" in result.task("Cluster that never gets ready")["msg"]
    assert result.task("Delete")["changed"] and not result.task("Delete again")["changed"]
    assert kube.get("Namespace", "mail") is None and kube.list("Cluster") == []
