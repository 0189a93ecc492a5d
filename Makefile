# One entry point for setup and tests; .ci/run calls exactly `make install` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3
# ansible-core 2.21 needs Python >= 3.12: use pyenv's 3.12 when there is one.
PY312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
# Outside the checkout: inside a git work tree ansible-test lists files with git, which ignores build output.
BUILD ?= $(or $(TMPDIR),/tmp)/openova-stalwart-build
COLL := $(BUILD)/ansible_collections/openova/stalwart
LINK := $(CURDIR)/.ansible/collections/ansible_collections/openova/stalwart
APT_PACKAGES := bind9 bind9-utils bind9-dnsutils iproute2 rsync util-linux git openssl \
	postfix dovecot-core dovecot-imapd dovecot-lmtpd swaks prometheus \
	postgresql-15 postgresql-client-15 rclone barman-cli-cloud
# Integration tests run in a private network namespace: only loopback exists, nothing leaves the machine.
NETNS := unshare -n sh -c 'ip link set lo up && exec "$$0" "$$@"'

.PHONY: benchmark docs install apt pip get-pip link test checks lint static sanity sanity-2.19 sanity-2.21 units integration molecule collection-tree

install: apt pip get-pip link

# Postfix is installed unconfigured: the mail test rig brings its own config, nothing listens on port 25.
# prometheus is there for promtool (the PrometheusRule test); its service is not started.
# PostgreSQL 15, rclone and barman-cloud (what the Barman Cloud plugin runs) for the restore drill; the tests start
# their own servers.
apt:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq; \
	echo 'postfix postfix/main_mailer_type select No configuration' | $$SUDO debconf-set-selections; \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null

pip:
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@if [ -n "$(PY312)" ]; then $(PY312) -m pip install -q --disable-pip-version-check 'ansible-core>=2.21,<2.22'; \
	else echo "no Python 3.12 found: sanity on ansible-core 2.21 will be skipped" >&2; fi

# ansible-test downloads get-pip.py, which is not reachable offline: cache our ensurepip stand-in
# under the name each installed ansible-test asks for.
get-pip:
	@for py in $(PYTHON) $(PY312); do \
	  reqs=$$($$py -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py; \
	  ver=$$(grep -o "pip='[0-9.]*'" "$$reqs" | head -n1 | tr -dc '0-9.' | tr . _); \
	  install -D -m 0644 hack/get_pip.py "$(HOME)/.ansible/test/cache/get_pip_$$ver.py"; \
	done

link:
	@mkdir -p "$(dir $(LINK))" && ln -sfn "$(CURDIR)" "$(LINK)"

# ansible-test needs the collection at .../ansible_collections/openova/stalwart (a real directory).
collection-tree:
	@mkdir -p "$(COLL)" && rsync -a --delete --exclude /build --exclude /.git --exclude /.ansible \
	  --exclude /tests/output --exclude __pycache__ --exclude .pytest_cache --exclude .mypy_cache --exclude .ruff_cache ./ "$(COLL)/"
	@# Unit tests read the reference data at ../shared relative to the collection, as in the checkout.
	@if [ -d "$(CURDIR)/../shared" ]; then ln -sfn "$(CURDIR)/../shared" "$(COLL)/../shared"; fi

# The static checks, sanity and units run side by side, each ansible-test run in a build tree of its own (it writes
# into the tree); then the integration suite, which keeps both cores busy by itself, and molecule.
test: checks integration molecule

checks:
	$(MAKE) -j4 --output-sync=target lint checks-sanity-2.19 checks-sanity-2.21 checks-units

checks-%:
	$(MAKE) $* BUILD=$(BUILD)-$*

lint: link static
	yamllint -s .
	ansible-lint
	antsibull-changelog lint
	antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
	$(PYTHON) hack/check_argument_specs.py
	$(PYTHON) hack/role_docs.py --check

# ruff on every Python file; mypy --strict on plugins/module_utils (settings in pyproject.toml; mypy finds the
# collection's own imports through the .ansible/collections link).
static: link
	ruff check .
	mypy -p ansible_collections.openova.stalwart.plugins.module_utils

sanity: sanity-2.19 sanity-2.21

sanity-2.19: collection-tree
	cd "$(COLL)" && ansible-test sanity --color no --python 3.11 $(SANITY_ARGS)

sanity-2.21: collection-tree
	@if [ -z "$(PY312)" ]; then echo "skipped: no Python 3.12" >&2; exit 0; fi; \
	cd "$(COLL)" && "$(dir $(PY312))ansible-test" sanity --color no --python 3.12 $(SANITY_ARGS)

units: collection-tree
	cd "$(COLL)" && ansible-test units --color no --python 3.11 $(UNITS_ARGS)

integration: link
	$(NETNS) $(PYTHON) -m pytest -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder --durations=30 $(if $(findstring tests/,$(PYTEST_ARGS)),,tests/integration) $(PYTEST_ARGS)

# Offline molecule scenarios, back to back in one network namespace: render (the example rendered -> idempotence ->
# the bundle verified) and standin (the example applied to stand-ins on loopback -> idempotence -> the live objects
# verified; it needs the upstream CRDs and schema in ../shared). molecule/apply needs a real cluster: not run here.
MOLECULE_SCENARIOS ?= render $(if $(wildcard $(CURDIR)/../shared/crds),standin)
molecule: link
	@$(if $(wildcard $(CURDIR)/../shared/crds),,echo "molecule/standin skipped: ../shared (upstream CRDs, Stalwart schema) is not present" >&2)
	$(NETNS) molecule test $(addprefix -s ,$(MOLECULE_SCENARIOS))

# Variable reference pages (docs/roles/<role>-variables.md) from each role's argument_specs.
docs:
	$(PYTHON) hack/role_docs.py

# Not part of `make test`: one table at 1, 10, 100 and 1000 domains, also written to docs/performance.md.
BENCH_N ?= 1 10 100 1000
benchmark: link
	$(NETNS) $(PYTHON) benchmarks/run.py --n $(BENCH_N) --write docs/performance.md
