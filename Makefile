# Parity: the two quick-start commands (`make demo`, `make test`) set everything up themselves.
SHELL := /bin/bash
APT_PACKAGES := libhdf5-dev pkg-config zip unzip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The release build users run (`make demo`, `make install`, the README's install command). The tests
# build release too, in their own scratch path: `@testable import` needs `-enable-testing`, and
# sharing .build/release with different flags would rebuild everything on every switch.
RELEASE_BIN := .build/release
TEST_SCRATCH := .build-tests
PREFIX ?= $(HOME)/.local

.PHONY: setup demo install test example bench html-check zoo docs

## Installs the system packages Parity builds against (HDF5 for Keras files), if missing.
setup:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6.x toolchain needed)"; exit 2; }

## Builds the CLI (release) and runs the seed demo.
demo: setup
	swift build -c release --product parity
	$(RELEASE_BIN)/parity demo

## Builds the CLI (release) and copies it to $(PREFIX)/bin (default ~/.local/bin).
install: setup
	swift build -c release --product parity
	install -d "$(PREFIX)/bin"
	install -m 755 $(RELEASE_BIN)/parity "$(PREFIX)/bin/parity"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "add $(PREFIX)/bin to PATH: export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac

## Builds (release, -enable-testing for @testable imports) and runs the whole test suite (Swift Testing).
test: setup
	swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path $(TEST_SCRATCH)
	swift test -c release --skip-build --disable-xctest -Xswiftc -enable-testing --scratch-path $(TEST_SCRATCH)

## Builds and runs examples/swift-package, an outside package using Parity's library products by path
## (debug build in its own scratch path; exit 1 from the run is its verdict "mismatch" on the planted port).
example: setup
	swift build --package-path examples/swift-package --scratch-path .build-example
	.build-example/debug/CompareModels; test $$? -eq 1

## Exports the model zoos into .zoo/ (the PyTorch exporter skips models already there; ZOO_PYTHON is the reference virtualenv's
## python: torch, torchvision, timm, transformers, then TensorFlow/Keras/KerasHub in separate processes) and
## runs `parity zoo` on them: one line per model, then `N/M within 1e-5`.
ZOO_PYTHON ?= python3
zoo: setup
	swift build -c release --product parity
	nice -n 10 $(ZOO_PYTHON) scripts/zoo/export_torch.py
	nice -n 10 $(ZOO_PYTHON) scripts/zoo/keras_hub_backbones.py --hf-sources
	TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 $(ZOO_PYTHON) scripts/zoo/keras_applications.py
	TF_ENABLE_ONEDNN_OPTS=0 nice -n 10 $(ZOO_PYTHON) scripts/zoo/keras_hub_backbones.py
	$(RELEASE_BIN)/parity zoo .zoo

## Benchmarks of the README build beside PyTorch and Keras/TensorFlow (see docs/performance.md).
bench: setup
	bash bench/run.sh

## Renders `parity compare --html` reports in headless Chromium (installed with apt-get if missing) and
## checks the screenshots; not part of `make test`. UPDATE_SCREENSHOT=1 refreshes docs/compare-report.png.
html-check: setup
	bash scripts/check_html_report.sh

## Builds the DocC documentation of every library module into .build/docs/<Module>.doccarchive and all of
## them into .build/docs/all.doccarchive (offline: symbol graphs from `swift package dump-symbol-graph`, then
## `docc convert` with warnings as errors, so a broken symbol link fails) and type-checks the articles' code.
## Not part of `make test`.
docs: setup
	bash scripts/docs.sh
