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
              $(shell pkg-config --cflags $(LUA_PC) libcurl) $(EXTRA_CFLAGS)
LIBS := $(shell pkg-config --libs libcurl sqlite3) -lm

SRC := lua_userupd.c $(wildcard src/*.c) $(wildcard src/vendors/*.c)
OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SRC))
HDR := $(wildcard src/*.h)

all: $(MODULE)
ifeq ($(LUA_VERSION),5.4)
	@cp $(MODULE) userupd.so
endif

# A shared object may link with symbols missing; ours must not be.
$(MODULE): $(OBJ)
	$(CC) -shared -o $@ $(OBJ) $(LIBS) $(LDFLAGS)
	@if nm $@ | grep -q ' U uu_'; then \
	  nm $@ | grep ' U uu_'; echo "undefined uu_ symbols"; rm -f $@; exit 1; fi

# The module carries its Lua parts as C strings (tools/embed.lua); the
# generated header is committed so LuaRocks builds need no Lua step.
src/driver_lua.h: src/driver.lua tools/embed.lua
	lua5.4 tools/embed.lua driver_lua src/driver.lua > $@

$(BUILD)/src/driver.o: src/driver_lua.h

$(BUILD)/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Specs, one file at a time, under this LUA_VERSION; the sandbox is started
# by the specs that need it (spec/support/sandbox.lua).
SPECS ?=
test: all
	tools/runspecs $(LUA) $(BUILD) $(SPECS)

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

sandbox-stop:
	spec/sandbox/ctl stop

clean:
	rm -rf build userupd.so

.PHONY: all clean test check valgrind asan fuzz bench lint sandbox \
        sandbox-stop
