"""Application factory: `create_app(settings)` wires settings, services and blueprints.

Nothing runs at import time. Background work (the chain indexer) starts only when asked,
so gunicorn workers start it after they fork.
"""
from __future__ import annotations

import sys

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask.signals import request_tearing_down

from provider import boundedjson
from provider.config import Settings, load_settings
from provider.observability import configure_logging
from provider.routes import (
    access, aquarius, audit, auth, compute, console, docs, documents, errors, internal, middleware, node, ops, root,
)
from provider.services import ProviderServices, build_services

class BoundedJSONProvider(DefaultJSONProvider):
    """Request bodies are decoded by the one bounded parser (depth checked before decoding)."""

    sort_keys = False

    def loads(self, s, **kwargs):
        return boundedjson.loads(s, what="request body")


_NO_EXCEPTION_GIVEN = object()


class ProviderFlask(Flask):
    json_provider_class = BoundedJSONProvider
    _SYNC_CACHE_SIZE = 4096

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: dict = {}

    def ensure_sync(self, func):
        """Flask's answer for each view and hook, remembered: Flask asks `inspect` whether the
        function is a coroutine on every call of every view and hook (five per request, about
        a twentieth of GET /). Views and hooks are registered once, so this stays small; an
        async view would still be wrapped as Flask wraps it."""
        try:
            return self._sync_functions[func]
        except KeyError:
            pass
        except TypeError:  # not hashable: answered without remembering
            return super().ensure_sync(func)
        sync = super().ensure_sync(func)
        if len(self._sync_functions) < self._SYNC_CACHE_SIZE:
            self._sync_functions[func] = sync
        return sync

    # What every request gets is done below Flask (`routes.middleware.RequestEnvelope`), so no
    # before-request, URL-value or teardown function is registered; Flask would still walk the
    # request's blueprints for them twice a request (a twentieth of `GET /`). Registration is
    # closed once the first request is in (Flask refuses it after), so the answer is read then.
    _request_hooks: bool | None = None

    def _has_request_hooks(self) -> bool:
        if self._request_hooks is None:
            self._request_hooks = any(self.url_value_preprocessors.values()) or any(
                self.before_request_funcs.values()) or any(self.teardown_request_funcs.values())
        return self._request_hooks

    def preprocess_request(self):
        return super().preprocess_request() if self._has_request_hooks() else None

    def do_teardown_request(self, exc=_NO_EXCEPTION_GIVEN):
        if exc is _NO_EXCEPTION_GIVEN:
            exc = sys.exc_info()[1]  # as Flask reads it
        if self._has_request_hooks():
            super().do_teardown_request(exc)
        else:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)


def create_app(settings: Settings | None = None, *, start_background: bool = True) -> Flask:
    settings = settings or load_settings()
    boundedjson.restore_recursion_limit()  # every heavy import has run by now
    configure_logging(settings.log_level, settings.log_format)
    app = ProviderFlask(__name__, static_folder=None)
    services = build_services(settings)
    app.extensions["provider"] = services

    errors.init_app(app)
    middleware.init_app(app, services.rate_limiter, settings.limits.max_body_bytes, settings.limits.proxy_hops)
    app.register_blueprint(root.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(node.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(auth.bp, url_prefix="/api/services")
    app.register_blueprint(documents.bp, url_prefix="/api/services")
    app.register_blueprint(access.bp, url_prefix="/api/services")
    app.register_blueprint(compute.bp, url_prefix="/api/services")
    app.register_blueprint(audit.bp, url_prefix="/api/services")
    app.register_blueprint(aquarius.bp, url_prefix="/api/aquarius")
    app.register_blueprint(internal.bp, url_prefix="/api/internal")
    if start_background:
        services.start_background()
    return app


def services_of(app: Flask) -> ProviderServices:
    return app.extensions["provider"]
