# -*- coding: utf-8 -*-
# Copyright (c) 2026 OpenOva
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

"""Check objects against Stalwart's registry schema (``resources/schema/schema.json.gz`` of the server).

The schema has ``objects`` (type names, ``object``/``singleton``/``view``), ``schemas`` (``single`` or ``multiple``
with ``variants``, each naming the schema of its properties), ``fields`` (per schema: ``properties`` with ``type``
and ``update`` = mutable/immutable/serverSet) and ``enums``. :class:`Schema` answers "is this value something the
server accepts?" for a create or an update, returning every problem with its property path.
"""

from __future__ import annotations

import gzip
import json
import re
import typing as t

# Plan-level secret reference (see _stalwart_plan.SECRET_REF): accepted where the registry wants a secret string.
SECRET_REF = "@env"
_SECRET_FORMATS = ("secret", "secretText")
_DIGITS = re.compile(r"^[0-9]+$")


class SchemaError(ValueError):
    """A value does not fit the schema; ``problems`` lists ``(path, message)``."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


class Schema:
    def __init__(self, data: dict[str, t.Any]):
        self.data = data
        self.objects: dict[str, t.Any] = data["objects"]
        self.schemas: dict[str, t.Any] = data["schemas"]
        self.fields: dict[str, t.Any] = data["fields"]
        self.enums: dict[str, set[str]] = {name: {e["name"] for e in values} for name, values in data["enums"].items()}

    @classmethod
    def load(cls, path: str) -> Schema:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as handle:
            return cls(json.load(handle))

    # -------------------------------------------------------------- object types

    def canonical(self, name: str) -> str:
        """``Domain``, ``x:Domain`` or ``x:domain`` -> ``x:Domain``; raise ``KeyError`` when unknown."""
        for candidate in (name, f"x:{name}"):
            if candidate in self.objects and self.objects[candidate]["type"] != "view":
                return candidate
        lowered = name.lower().removeprefix("x:")
        for key, spec in self.objects.items():
            if spec["type"] != "view" and key.lower().removeprefix("x:") == lowered:
                return key
        raise KeyError(name)

    def is_singleton(self, canonical: str) -> bool:
        return bool(self.objects[canonical]["type"] == "singleton")

    def variants(self, schema_name: str) -> dict[str, str | None] | None:
        """Variant name -> schema of its properties (None: no properties); None for a single schema."""
        spec = self.schemas.get(schema_name)
        if not spec or spec["type"] != "multiple":
            return None
        return {v["name"]: v.get("schemaName") for v in spec["variants"]}

    def properties(self, schema_name: str | None) -> dict[str, t.Any]:
        if schema_name is None:
            return {}
        properties: dict[str, t.Any] = self.fields.get(schema_name, {}).get("properties", {})
        return properties

    def property_schema(self, schema_name: str, variant: str | None) -> str | None:
        """The schema that holds the properties of ``schema_name`` (in ``variant`` when it has several)."""
        variants = self.variants(schema_name)
        if variants is None:
            spec = self.schemas.get(schema_name)
            return spec["schemaName"] if spec else schema_name
        return variants.get(variant) if variant in variants else None

    def defaults(self, schema_name: str | None) -> dict[str, t.Any]:
        if schema_name is None:
            return {}
        return dict(self.fields.get(schema_name, {}).get("defaults", {}))

    def secret_paths(self, schema_name: str, value: t.Any, prefix: str = "") -> list[str]:
        """Paths of secret-format strings inside ``value`` (the server masks them on get)."""
        found: list[str] = []
        if not isinstance(value, dict):
            return found
        props = self.properties(self.property_schema(schema_name, value.get("@type")))
        for key, item in value.items():
            spec = props.get(key)
            if spec is None:
                continue
            kind = spec["type"]
            path = f"{prefix}{key}"
            if kind["type"] == "string" and kind.get("format") in _SECRET_FORMATS:
                found.append(path)
            elif kind["type"] == "object":
                found.extend(self.secret_paths(kind["objectName"], item, f"{path}/"))
            elif kind["type"] == "objectList" and isinstance(item, dict):
                for index, element in item.items():
                    found.extend(self.secret_paths(kind["objectName"], element, f"{path}/{index}/"))
        return found

    # -------------------------------------------------------------- validation

    def check(self, obj: str, value: t.Any, update: bool = False, current_variant: str | None = None) -> list[tuple[str, str]]:
        """Problems of ``value`` as a create (or, with ``update``, a patch) of object type ``obj``."""
        try:
            canonical = self.canonical(obj)
        except KeyError:
            return [("", f"unknown object type {obj!r}")]
        problems: list[tuple[str, str]] = []
        self._object(canonical, value, "", problems, update=update, current_variant=current_variant, top=True)
        return problems

    def validate(self, obj: str, value: t.Any, update: bool = False, current_variant: str | None = None) -> None:
        problems = self.check(obj, value, update=update, current_variant=current_variant)
        if problems:
            raise SchemaError(problems)

    def _object(self, schema_name: str, value: t.Any, path: str, problems: list[t.Any], update: bool = False,
                current_variant: str | None = None, top: bool = False) -> None:
        if not isinstance(value, dict):
            problems.append((path or "/", f"expected an object of {schema_name}, got {type(value).__name__}"))
            return
        variants = self.variants(schema_name)
        variant = value.get("@type")
        if variants is not None:
            if variant is None:
                variant = current_variant if update else None
                if variant is None:
                    problems.append((f"{path}@type", f"required: one of {', '.join(variants)}"))
                    return
            elif variant not in variants:
                problems.append((f"{path}@type", f"{variant!r} is not a variant of {schema_name} ({', '.join(variants)})"))
                return
            # Switching variant replaces the whole value: check it as a create.
            if update and value.get("@type") is not None and value.get("@type") != current_variant:
                update = False
        elif variant is not None:
            problems.append((f"{path}@type", f"{schema_name} has no variants"))
            return
        props = self.properties(self.property_schema(schema_name, variant))
        for key, item in value.items():
            if key == "@type":
                continue
            spec = props.get(key)
            where = f"{path}{key}"
            if spec is None:
                problems.append((where, f"unknown property of {schema_name}{'/' + variant if variant else ''}"))
                continue
            kind = spec.get("update", "mutable")
            if top and kind == "serverSet":
                problems.append((where, "is set by the server and cannot be written"))
                continue
            if top and update and kind == "immutable":
                problems.append((where, "is immutable and cannot be changed after creation"))
                continue
            self._value(spec["type"], item, where, problems)

    def _value(self, kind: dict[str, t.Any], value: t.Any, path: str, problems: list[t.Any]) -> None:
        name = kind["type"]
        if value is None:
            if not kind.get("nullable"):
                problems.append((path, "must not be null"))
            return
        if name == "string":
            if kind.get("format") in _SECRET_FORMATS and isinstance(value, dict) and set(value) == {SECRET_REF}:
                return
            if not isinstance(value, str):
                problems.append((path, f"expected a string, got {type(value).__name__}"))
            elif kind.get("maxLength") and len(value) > kind["maxLength"]:
                problems.append((path, f"longer than {kind['maxLength']} characters"))
        elif name == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append((path, f"expected a number, got {type(value).__name__}"))
                return
            if kind.get("format") in ("unsignedInteger", "integer", "size") and not float(value).is_integer():
                problems.append((path, f"expected an integer, got {value!r}"))
            if kind.get("format") in ("unsignedInteger", "size", "duration") and value < 0:
                problems.append((path, f"must not be negative, got {value!r}"))
            if "min" in kind and value < kind["min"]:
                problems.append((path, f"{value!r} is below the minimum {kind['min']}"))
            if "max" in kind and value > kind["max"]:
                problems.append((path, f"{value!r} is above the maximum {kind['max']}"))
        elif name == "boolean":
            if not isinstance(value, bool):
                problems.append((path, f"expected a boolean, got {type(value).__name__}"))
        elif name == "enum":
            if value not in self.enums.get(kind["enumName"], ()):
                problems.append((path, f"{value!r} is not a value of enum {kind['enumName']}"))
        elif name == "object":
            self._object(kind["objectName"], value, f"{path}/", problems)
        elif name in ("objectId", "blobId", "utcDateTime"):
            if not isinstance(value, str) or not value:
                problems.append((path, f"expected an id string, got {value!r}"))
        elif name == "objectList":
            if not isinstance(value, dict) or not all(_DIGITS.fullmatch(k) for k in value):
                problems.append((path, "expected a list as a map of index -> object ({\"0\": {...}})"))
                return
            for index, item in value.items():
                self._object(kind["objectName"], item, f"{path}/{index}/", problems)
        elif name == "set":
            if not isinstance(value, dict):
                problems.append((path, "expected a set as a map of value -> true"))
                return
            if kind.get("minItems") and len(value) < kind["minItems"]:
                problems.append((path, f"needs at least {kind['minItems']} item(s)"))
            for key, flag in value.items():
                if flag is not True:
                    problems.append((f"{path}/{key}", "set members map to true"))
                self._value(kind["class"], key, f"{path}/{key}", problems)
        elif name == "map":
            if not isinstance(value, dict):
                problems.append((path, "expected a map"))
                return
            for key, item in value.items():
                self._value(kind["keyClass"], key, f"{path}/{key}", problems)
                self._value(kind["valueClass"], item, f"{path}/{key}", problems)
        else:
            problems.append((path, f"unsupported schema type {name!r}"))
