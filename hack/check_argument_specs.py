"""Every role's meta/argument_specs.yml equals its defaults/main.yml, and every entry point a playbook or role
enters is declared there (run by `make lint`).

For each role: the main entry point documents exactly the variables of defaults/main.yml; a documented default
equals the value in defaults/main.yml; a variable without a documented default is templated in defaults (its
description says where the value comes from); every option has a type and a description; choices include the
default; an option of another entry point is typed as the main entry point's option of that name.

Every `include_role`/`import_role` of a collection role in roles/, playbooks/ and site.yml enters a declared entry
point: the main one (no `tasks_from`), or a `tasks_from` naming one (without ".yml": Ansible validates the
variables only against the entry point named exactly so). A templated `tasks_from` must take its values from the
task's `loop`. The one exception is the internal role `_k8s`, whose declared entry points the roles may enter as a
file (`tasks_from: main.yml`) to skip the validation of the data they built themselves (roles/_k8s/README.md).
"""

from __future__ import annotations

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def check(role: pathlib.Path) -> list[str]:
    errors = []
    spec_file = role / "meta" / "argument_specs.yml"
    defaults_file = role / "defaults" / "main.yml"
    if not spec_file.exists():
        return [f"{role.name}: no meta/argument_specs.yml"]
    specs = yaml.safe_load(spec_file.read_text())["argument_specs"]
    options = specs["main"].get("options", {})
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    for name in sorted(set(defaults) - set(options)):
        errors.append(f"{role.name}: {name} is in defaults/main.yml but not in argument_specs")
    for name, option in sorted(options.items()):
        if not option.get("description") or not option.get("type"):
            errors.append(f"{role.name}: {name} needs a type and a description")
        if name not in defaults:
            if "default" in option:
                errors.append(f"{role.name}: {name} documents a default that defaults/main.yml does not set")
            continue
        value = defaults[name]
        if "default" in option:
            if option["default"] != value:
                errors.append(f"{role.name}: {name} default {option['default']!r} != defaults/main.yml {value!r}")
        elif "{{" not in str(value) and not option.get("required"):
            errors.append(f"{role.name}: {name} has a plain default in defaults/main.yml that argument_specs omits")
        choices = option.get("choices")
        if choices and "{{" not in str(value) and value not in choices:
            errors.append(f"{role.name}: {name} default {value!r} is not one of its choices")
    for entry, spec in sorted(specs.items()):
        if entry == "main":
            continue
        for name, option in sorted(((spec or {}).get("options") or {}).items()):
            if name not in options:
                errors.append(f"{role.name}: entry point {entry} declares {name}, which the main entry point does not")
            elif _contract(option) != _contract(options[name]):
                errors.append(f"{role.name}: entry point {entry} types {name} otherwise than the main entry point")
    return errors


def _contract(option: dict) -> dict:
    """The value an option takes (an entry point may require it, or say what it does with it)."""
    return {key: option.get(key) for key in ("type", "elements", "choices", "options")}


def _role_calls(node, where: str):
    """(file, role, entry points) of every include_role/import_role below ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from _role_calls(item, where)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key.endswith(("include_role", "import_role")) and isinstance(value, dict):
            role = str(value.get("name", ""))
            if not role.startswith("openova.stalwart."):
                continue
            entry = value.get("tasks_from", "main")
            entries = [entry]
            if "{{" in str(entry):
                loop = node.get("loop", node.get("with_items"))
                entries = loop if isinstance(loop, list) and re.fullmatch(r"\{\{ *item *\}\}", str(entry)) else [None]
            yield where, role.removeprefix("openova.stalwart."), entries
        elif isinstance(value, (dict, list)):
            yield from _role_calls(value, where)


def check_entry_points() -> list[str]:
    errors = []
    files = [ROOT / "site.yml", *sorted((ROOT / "playbooks").glob("*.yml")), *sorted((ROOT / "roles").glob("*/tasks/*.yml"))]
    declared = {role.name: set(yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"])
                for role in (ROOT / "roles").iterdir() if (role / "meta" / "argument_specs.yml").exists()}
    for path in files:
        for where, role, entries in _role_calls(yaml.safe_load(path.read_text()), str(path.relative_to(ROOT))):
            for entry in entries:
                if entry is None:
                    errors.append(f"{where}: {role}: a templated tasks_from must take its values from the task's loop")
                elif role.startswith("_") and str(entry).endswith(".yml") and entry[:-4] in declared.get(role, set()):
                    # An internal role's declared entry point, entered as a file: not validated, on purpose
                    # (roles/_k8s/README.md says why).
                    continue
                elif entry not in declared.get(role, set()):
                    errors.append(f"{where}: {role}: entry point {entry!r} is not declared in roles/{role}/meta/argument_specs.yml"
                                  " (Ansible would not validate its variables)")
    return errors


def main() -> int:
    errors = [error for role in sorted((ROOT / "roles").iterdir()) if role.is_dir() for error in check(role)]
    errors += check_entry_points()
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
