"""Data-free zero-cost proxies by name; each scores an untrained network and declares its compute."""
from nasbench.proxies import costs, entropy, synflow  # noqa: F401  (registers the built-in proxies)
from nasbench.proxies.base import PROXIES, Proxy, Subject, get_proxy, register_proxy

__all__ = ["PROXIES", "Proxy", "Subject", "get_proxy", "register_proxy"]
