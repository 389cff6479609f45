"""Hub Monitor: link-checking and content-freshness monitor for curated resource hubs."""

__version__ = "0.2.0"
PROJECT_URL = "https://github.com/hub-monitor/hub-monitor"
DEFAULT_USER_AGENT = f"hub-monitor/{__version__} (+{PROJECT_URL})"
