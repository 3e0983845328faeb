"""HTTP APIs for other systems (Open311 GeoReport v2, /api/v1): runtime shell, built into the aiohttp app."""
