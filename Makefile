# Thin wrapper over CMake for the README's commands.
.PHONY: all deps build run test fuzz clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j$$(nproc)

run: build
	bash scripts/demo.sh

test: deps
	bash scripts/test.sh

fuzz: deps
	bash scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz
