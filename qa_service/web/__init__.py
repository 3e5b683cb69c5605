"""The web service: the Flask app factory, the JSON API blueprint and its OpenAPI spec,
the per-process service state (encoder, retriever, hot reload), rebuilds started from
the web, articles added over the API, and the chat page in ``static/``. The top layer
below the CLI: it may import every other subpackage."""

from .app import create_app
from .openapi import openapi_spec
from .service import ServiceState

__all__ = ["ServiceState", "create_app", "openapi_spec"]
