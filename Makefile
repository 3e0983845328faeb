# make run  — set up (venv, install, database) and start the bot on SQLite with the web chat page
# make test — set up and run the whole test suite (QIHU_TEST_DATABASE_URL=postgresql+asyncpg://… for PostgreSQL)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint browser clean

$(STAMP): pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

run: $(STAMP)
	$(BIN)/qihu run

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# The browser test needs Debian's chromium + chromedriver and a CJK font; install them when we can.
# The reports' charts need the CJK font too (matplotlib finds it through fontconfig's directories).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
		|| ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
		else \
			echo "chromium/chromedriver/CJK font missing: install Debian packages chromium chromium-driver fonts-noto-cjk (browser tests will be skipped)"; \
		fi; \
	fi

clean:
	rm -rf $(VENV) qihu.db qihu.db-wal qihu.db-shm .pytest_cache
