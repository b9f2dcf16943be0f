# Thin wrapper over CMake for the README's commands. Each command has its own build
# directory and states every cache option it depends on, so they pass in any order,
# repeated: `make run` builds what users get (Release) in build/, `make test` builds in
# build-test/ (Release with -Werror, then build-asan/, build-tsan/ and build-fuzz/).
.PHONY: all deps build run test fuzz clean

BUILD_DIR ?= build
CONFIGURE = -DCMAKE_BUILD_TYPE=Release -DIMGPIPE_WERROR=OFF -DIMGPIPE_SANITIZE=OFF -DIMGPIPE_TSAN=OFF -DIMGPIPE_FUZZ=OFF

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) $(CONFIGURE) >/dev/null
	cmake --build $(BUILD_DIR) -j$$(nproc)

run: build
	BUILD_DIR=$(BUILD_DIR) bash scripts/demo.sh

test: deps
	bash scripts/test.sh

fuzz: deps
	bash scripts/fuzz.sh

clean:
	rm -rf build build-test build-asan build-tsan build-fuzz
