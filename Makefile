# Development build of userupd (LuaRocks users: see the rockspec).
# make [LUA_VERSION=5.4|5.3|5.2|5.1|jit]; make test; make lint; make clean

LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),jit)
  LUA_PC := luajit
  LUA := luajit
else
  LUA_PC := lua$(LUA_VERSION)
  LUA := lua$(LUA_VERSION)
endif

BUILD := build/$(LUA_VERSION)
MODULE := $(BUILD)/userupd.so
CC ?= cc
WARN := -Wall -Wextra -Wshadow -Wundef -Wwrite-strings -Wmissing-prototypes \
        -Wstrict-prototypes -Wdeclaration-after-statement -Wc++-compat
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c99 -fPIC -fvisibility=hidden $(WARN) $(CFLAGS) \
              -Isrc $(shell pkg-config --cflags $(LUA_PC) libcurl) $(EXTRA_CFLAGS)
LIBS := $(shell pkg-config --libs libcurl sqlite3) -lm

SRC := lua_userupd.c $(wildcard src/*/*.c)
OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SRC))
HDR := $(wildcard src/*.h src/*/*.h)

# Copies are renamed into place: overwriting a loaded .so crashes whoever
# has it mapped.
all: $(MODULE)
ifeq ($(LUA_VERSION),5.4)
	@cp $(MODULE) userupd.so.tmp && mv -f userupd.so.tmp userupd.so
endif

# The man page and the completion scripts are made from the command's own
# parser (tools/gencli.lua), when the CLI changes, and committed: the rock
# and `make install` ship them as they are.
ifeq ($(LUA_VERSION),5.4)
all: userupd.1
endif
CLI_SRC := bin/userupd $(wildcard lua/userupd/cli.lua lua/userupd/cli/*.lua) \
           docs/cli.md tools/gencli.lua
userupd.1: $(CLI_SRC) $(MODULE)
	@if command -v help2man >/dev/null; then lua5.4 tools/gencli.lua $(BUILD); \
	else echo "help2man missing (tools/deps): userupd.1 not remade"; fi

# A shared object may link with symbols missing; ours must not be.
$(MODULE): $(OBJ)
	$(CC) -shared -o $@.tmp $(OBJ) $(LIBS) $(LDFLAGS)
	@if nm $@.tmp | grep -q ' U uu_'; then \
	  nm $@.tmp | grep ' U uu_'; echo "undefined uu_ symbols"; exit 1; fi
	@mv -f $@.tmp $@

# The module carries its Lua parts as C strings (tools/embed.lua); the
# generated header is committed so LuaRocks builds need no Lua step.
src/loops/driver_lua.h: src/loops/driver.lua tools/embed.lua
	lua5.4 tools/embed.lua driver_lua src/loops/driver.lua > $@

$(BUILD)/src/loops/driver.o: src/loops/driver_lua.h

$(BUILD)/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Specs, one file at a time, under this LUA_VERSION; the sandbox is started
# by the specs that need it (spec/support/sandbox.lua).  The specs live in
# tiers, one folder each (HACKING.md, "How to test"):
#   spec/unit/       the module and the Lua modules in this process: no
#                    sandbox, no nginx, no network, no CLI subprocess
#   spec/net/        against the sandbox or a hostile server on 127.0.0.1
#   spec/cli/        bin/userupd in a subprocess
#   spec/openresty/  the module inside OpenResty
#   spec/build/      builds and installs (make targets, LuaRocks)
# `make test` runs them all; `make test-unit` (seconds) and the other
# test-<tier> targets run one.
SPECS ?=
TIERS := unit net cli openresty build
test: all
	tools/runspecs $(LUA) $(BUILD) $(SPECS)

$(addprefix test-,$(TIERS)): test-%: all
	tools/runspecs $(LUA) $(BUILD) $$(find spec/$* -name '*_spec.lua' | sort)

# The README's first command: a 300-user roster into all five vendors of
# the local sandbox, through one mapping file, with progress and a summary.
demo:
	tools/deps demo
	$(MAKE) -s all
	spec/sandbox/ctl start
	eval "$$(spec/sandbox/ctl env)" && \
	LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./?.so;;' \
	  lua5.4 examples/demo.lua; rc=$$?; spec/sandbox/ctl stop; exit $$rc

# Everything CI runs: every Lua, memory checks, linters (tools/check).
check:
	tools/check

# Memory and undefined-behaviour checks, fuzzing, benchmarks (scripts
# beside them say what they run).
valgrind: all
	tools/valgrind

asan:
	tools/asan

fuzz:
	fuzz/run

bench: all
	bench/run

lint:
	luacheck --no-color -q lua bin spec examples bench
	cppcheck --quiet --error-exitcode=1 --enable=warning --std=c99 \
	  --suppress=missingIncludeSystem -I src lua_userupd.c src

sandbox:
	spec/sandbox/ctl start
	@spec/sandbox/ctl info

sandbox-stop:
	spec/sandbox/ctl stop

# The module plus a test-only sixth vendor (spec/build/extra_vendor_spec.lua):
# one descriptor file and a define, nothing else.
EXTRA := build/extra/$(LUA_VERSION)/userupd.so
extra-vendor: $(EXTRA)
$(EXTRA): $(SRC) $(HDR) spec/fixtures/vendor/example.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DUU_EXTRA_VENDOR=example -shared -o $@ $(SRC) \
	  spec/fixtures/vendor/example.c $(LIBS)

# A static library for C hosts that link the module in (include/userupd.h),
# and the example host that does (examples/embed).
STATIC := $(BUILD)/libuserupd.a
static: $(STATIC)
$(STATIC): $(OBJ)
	ar rcs $@ $(OBJ)

EMBED := $(BUILD)/embed-host
embed: $(EMBED)
$(EMBED): examples/embed/host.c $(STATIC)
	$(CC) -std=c99 $(WARN) $(CFLAGS) -Iinclude \
	  $(shell pkg-config --cflags $(LUA_PC)) -o $@ $< $(STATIC) \
	  $(shell pkg-config --libs $(LUA_PC)) $(LIBS) -ldl

# One version: src/userupd.h's UU_VERSION names the rockspec, the module's
# _VERSION and `userupd --version` (spec/build/luarocks_spec.lua checks).
VERSION := $(shell sed -n 's/^\#define UU_VERSION "\(.*\)"/\1/p' src/userupd.h)
ROCKSPEC := userupd-$(VERSION)-1.rockspec

# The release: dist/userupd-$(VERSION).tar.gz is the committed tree (git
# archive HEAD: tracked files only, nothing built, no local edits), and
# dist/$(ROCKSPEC) the release rockspec with that tarball's md5 and url
# (DIST_URL, the directory it is published in; file:///abs/dir for a local
# one).  `luarocks pack dist/$(ROCKSPEC)` fetches and checks it; `make rock`
# does that with a local url.  A tree with uncommitted edits is refused:
# the tarball would not be what the checkout builds.
DIST_URL ?= https://github.com/userupd/userupd/releases/download/v$(VERSION)
dist:
	@if [ -n "$$(git status --porcelain --untracked-files=no)" ]; then \
	  echo "make dist: commit or stash your edits first"; exit 1; fi
	@rm -rf dist && mkdir -p dist
	git archive --format=tar.gz --prefix=userupd-$(VERSION)/ \
	  -o dist/userupd-$(VERSION).tar.gz HEAD
	@md5=$$(md5sum dist/userupd-$(VERSION).tar.gz | cut -d' ' -f1) && \
	sed -e 's|^  url = ".*",$$|  url = "$(DIST_URL)/userupd-$(VERSION).tar.gz",|' \
	  -e "s|^\(  url = .*\)$$|\1\n  md5 = \"$$md5\",|" \
	  $(ROCKSPEC) > dist/$(ROCKSPEC)
	@grep -q '^  md5 = "[0-9a-f]\{32\}",$$' dist/$(ROCKSPEC)
	@echo "wrote dist/userupd-$(VERSION).tar.gz dist/$(ROCKSPEC)"

# The source rock LuaRocks users install (`luarocks install
# ./userupd-$(VERSION)-1.src.rock`, no network), packed by luarocks itself.
rock:
	$(MAKE) -s dist DIST_URL=file://$(CURDIR)/dist
	rm -f userupd-$(VERSION)-1.src.rock
	luarocks pack dist/$(ROCKSPEC) >/dev/null
	@echo "wrote userupd-$(VERSION)-1.src.rock"

# userupd-dev-1.rockspec is the release rockspec with its own version and
# source (a git url): this rewrites its build part from $(ROCKSPEC), after a
# new C file or Lua module went there (spec/luarocks_spec.lua checks).
dev-rockspec:
	{ sed '/^description = {/,$$d' userupd-dev-1.rockspec; \
	  sed -n '/^description = {/,$$p' $(ROCKSPEC); } > userupd-dev-1.rockspec.tmp
	mv -f userupd-dev-1.rockspec.tmp userupd-dev-1.rockspec

# Without LuaRocks: the module, the Lua modules and the command where this
# LUA_VERSION looks for them under PREFIX (LuaJIT uses the 5.1 paths).
PREFIX ?= /usr/local
LUA_ABI := $(if $(filter jit,$(LUA_VERSION)),5.1,$(LUA_VERSION))
LUA_BIN := $(if $(filter jit,$(LUA_VERSION)),luajit,lua$(LUA_VERSION))
install: $(MODULE)
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI) $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(MODULE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/userupd.so
	cd lua && for f in $$(find userupd -name '*.lua'); do \
	  install -D -m 644 $$f $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/$$f || exit 1; \
	done
	sed '1s|.*|#!/usr/bin/env $(LUA_BIN)|' bin/userupd \
	  > $(DESTDIR)$(PREFIX)/bin/userupd
	chmod 755 $(DESTDIR)$(PREFIX)/bin/userupd
	install -D -m 644 userupd.1 $(DESTDIR)$(PREFIX)/share/man/man1/userupd.1
	install -D -m 644 completions/userupd.bash \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/userupd
	install -D -m 644 completions/_userupd \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_userupd

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_ABI)/userupd.so \
	  $(DESTDIR)$(PREFIX)/bin/userupd \
	  $(DESTDIR)$(PREFIX)/share/man/man1/userupd.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/userupd \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_userupd
	rm -rf $(DESTDIR)$(PREFIX)/share/lua/$(LUA_ABI)/userupd

clean:
	rm -rf build dist userupd.so

.PHONY: dist rock dev-rockspec install uninstall all clean static embed extra-vendor demo test \
        $(addprefix test-,$(TIERS)) check valgrind asan fuzz bench lint sandbox \
        sandbox-stop
