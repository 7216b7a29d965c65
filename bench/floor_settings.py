"""The production settings with bench/floor_urls.py in front of the product's URLs (bench_api only)."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
