# The two quick-start commands: `make run` and `make test` (see README.md).
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= 2
ARGS      ?=
CMAKE_ARGS ?=

.PHONY: all deps configure build run test test-release test-asan bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/apps/chatd/chatd $(ARGS)

# Every test through CTest: the Release build (with the installed-package
# consumer test and the node/Chromium tests of tests/web), then the unit tests
# again under ASan + UBSan (the web tests once is enough: they check shapes,
# pages and headers, and a browser under a loaded ASan build is slow).
test: test-release test-asan

# The package step has installed Chromium and the npm packages: a web test
# that finds them missing fails here instead of reporting Skipped.
test-release: build
	CHAT_REQUIRE_WEB_TESTS=1 ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCHAT_SANITIZE=address,undefined \
	  -DCHAT_BUILD_BENCH=OFF -DCHAT_BUILD_EXAMPLES=OFF -DCHAT_CONSUMER_TEST=OFF -DCHAT_INSTALL=OFF \
	  -DCHAT_WEB_TESTS=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j$(JOBS)
	ctest --test-dir $(ASAN_DIR) --output-on-failure -j$(JOBS)

bench: build
	$(BUILD_DIR)/bench/chat_bench $(ARGS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
