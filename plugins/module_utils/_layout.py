# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""The layout of a render directory (the GitOps bundle): every path in it is derived here and nowhere else.

  kubernetes/kustomization.yaml                               every manifest file below, sorted = apply order
  kubernetes/00-namespaces/<name>.yaml                        Namespaces (may be declared by several components)
  kubernetes/<order>-<component>/<index>-<kind>-<name>.yaml   every other non-secret object, in apply order
  secrets/kustomization.yaml
  secrets/<component>/<namespace>-<name>.yaml                 every Secret (stringData), mode 0600; the DKIM
                                                              private keys only in the Secrets <name>-dkim-<n>
  kubernetes/51-stalwart-dkim-rotation/000-configmap-<name>-dkim-rotation.yaml
                                                              where a DKIM rotation stands (public data), the
                                                              ConfigMap apply mode keeps in the cluster
  stalwart/config.json, stalwart/plan.ndjson                  Stalwart's bootstrap file and settings plan
  dns/<domain>.zone                                           zone file snippets

Paths are relative (POSIX) unless a function takes the render directory. Pure: nothing here touches the disk.
"""

from __future__ import annotations

import posixpath
import re
import typing as t

KUBERNETES = "kubernetes"
SECRETS = "secrets"
STALWART = "stalwart"
DNS = "dns"
TOPS = (KUBERNETES, SECRETS, STALWART, DNS)
# The two parts that hold manifests, each with a kustomization listing them.
MANIFEST_TOPS = (KUBERNETES, SECRETS)
NAMESPACES_DIR = "00-namespaces"
KUSTOMIZATION = "kustomization.yaml"
# Earlier releases also kept each DKIM key as a file here: a render adopts those keys, then removes the directory.
LEGACY_DKIM_KEYS = f"{SECRETS}/dkim"
# Earlier releases kept the DKIM rotation state here in render mode (now a ConfigMap, as in apply mode).
LEGACY_DKIM_ROTATION = f"{SECRETS}/dkim-rotation.json"


def kustomization(top: str) -> str:
    """``kubernetes/kustomization.yaml`` or ``secrets/kustomization.yaml``."""
    if top not in MANIFEST_TOPS:
        raise ValueError(f"{top!r} holds no manifests (one of {', '.join(MANIFEST_TOPS)})")
    return f"{top}/{KUSTOMIZATION}"


def namespace_file(name: str) -> str:
    """The file of the Namespace ``name``."""
    return f"{KUBERNETES}/{NAMESPACES_DIR}/{name}.yaml"


def component_dir(component: str, order: int) -> str:
    """The directory of a component's non-secret manifests; ``order`` (1-99) sorts it in apply order."""
    return f"{KUBERNETES}/{order:02d}-{component}"


def component_dir_pattern(component: str) -> re.Pattern[str]:
    """Matches the name (under ``kubernetes/``) of the component's directory, whatever its order."""
    return re.compile(rf"^\d\d-{re.escape(component)}$")


def manifest_file(component: str, order: int, index: int, kind: str, name: str) -> str:
    """The file of the non-secret object at position ``index`` of the component's manifests."""
    return f"{component_dir(component, order)}/{index:03d}-{kind.lower()}-{name}.yaml"


def manifest_glob(component: str, order: int, kind: str, name: str) -> str:
    """A glob matching the file of the component's object ``kind``/``name`` at any position."""
    return f"{component_dir(component, order)}/*-{kind.lower()}-{name}.yaml"


def secrets_dir(component: str) -> str:
    """The directory of a component's Secrets."""
    return f"{SECRETS}/{component}"


def secret_file(component: str, namespace: str, name: str) -> str:
    """The file of the component's Secret ``namespace``/``name``."""
    return f"{secrets_dir(component)}/{namespace}-{name}.yaml"


def owned(component: str, order: int) -> re.Pattern[str]:
    """Matches the relative path of every manifest file a component writes (its Namespaces aside)."""
    return re.compile(rf"^({re.escape(component_dir(component, order))}|{re.escape(secrets_dir(component))})/")


def join(render_dir: str, path: str) -> str:
    """``path`` under ``render_dir`` (a relative path when ``render_dir`` is empty, as in apply mode)."""
    return posixpath.join(render_dir, path) if render_dir else path


def render_paths(render_dir: str, component: str | None = None, namespace: str = "default",
                 order: int | None = None, secrets: t.Sequence[t.Any] = (),
                 objects: t.Sequence[t.Mapping[str, t.Any]] = ()) -> dict[str, t.Any]:
    """The paths of the bundle under ``render_dir``, for the roles (filter ``openova.stalwart.render_paths``).

    Always: ``root`` and the four parts (``kubernetes``, ``secrets``, ``stalwart``, ``dns``), ``legacy_dkim_keys``
    and ``legacy_dkim_key_glob`` (the DKIM key files of earlier releases) and ``legacy_dkim_rotation`` (their rotation
    state file). With ``component``: ``component_secrets``,
    ``secret_files`` (Secret name to file, for ``secrets``: names in ``namespace``, or mappings with ``name`` and
    optionally ``namespace``), ``secret_glob`` (every Secret file of ``namespace``) and ``secret_name_re`` (the
    Secret name in one of them: group 1). With ``order`` too:
    ``component_manifests`` and ``manifest_globs`` (for ``objects``, mappings with ``kind`` and ``name``, in order).
    """
    if not isinstance(render_dir, str):
        raise TypeError(f"render_paths: expected the render directory as a string, got {type(render_dir).__name__}")
    out: dict[str, t.Any] = {"root": render_dir}
    for top in TOPS:
        out[top] = join(render_dir, top)
    out["legacy_dkim_keys"] = join(render_dir, LEGACY_DKIM_KEYS)
    out["legacy_dkim_key_glob"] = join(render_dir, f"{LEGACY_DKIM_KEYS}/*.pem")
    out["legacy_dkim_rotation"] = join(render_dir, LEGACY_DKIM_ROTATION)
    if component is None:
        return out
    out["component_secrets"] = join(render_dir, secrets_dir(component))
    out["secret_glob"] = join(render_dir, secret_file(component, namespace, "*"))
    # The Secret name in a file the glob found (regex_replace with \\1).
    head, tail = join(render_dir, secret_file(component, namespace, "\0")).split("\0")
    out["secret_name_re"] = f"^{re.escape(head)}(.+){re.escape(tail)}$"
    files = {}
    for item in secrets:
        name, space = (item.get("name"), item.get("namespace") or namespace) if isinstance(item, t.Mapping) else (item, namespace)
        files[str(name)] = join(render_dir, secret_file(component, str(space), str(name)))
    out["secret_files"] = files
    if order is not None:
        order = int(order)
        out["component_manifests"] = join(render_dir, component_dir(component, order))
        out["manifest_globs"] = [join(render_dir, manifest_glob(component, order, str(o["kind"]), str(o["name"])))
                                 for o in objects]
    return out
