"""Signals: a few lines each, never evaluation. The rules app subscribes to graph changes."""
