"""Offline tools: the CLI, rendering, docs and the local run. Nothing here is deployed."""
