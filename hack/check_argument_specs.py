"""Every role's meta/argument_specs.yml equals its defaults/main.yml (run by `make lint`).

For each role: the main entry point documents exactly the variables of defaults/main.yml; a documented default
equals the value in defaults/main.yml; a variable without a documented default is templated in defaults (its
description says where the value comes from); every option has a type and a description; choices include the
default.
"""

from __future__ import annotations

import pathlib
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
    return errors


def main() -> int:
    errors = [error for role in sorted((ROOT / "roles").iterdir()) if role.is_dir() for error in check(role)]
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
