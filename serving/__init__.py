"""Serving a finished run over HTTP."""
