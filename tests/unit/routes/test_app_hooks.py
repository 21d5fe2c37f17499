"""The provider's Flask class skips the request-hook walks only while no hook exists: a hook
registered on the app or on a blueprint still runs, and teardown still signals."""
from flask import Blueprint, request
from flask.signals import request_tearing_down

from provider.app import ProviderFlask


def _app_with_blueprint() -> tuple[ProviderFlask, Blueprint]:
    app = ProviderFlask("hooks-test")
    bp = Blueprint("bp", __name__)

    @bp.get("/thing/<name>")
    def thing(name):
        return {"name": name, "seen": request.environ.get("seen", [])}

    return app, bp


def test_without_hooks_views_answer_and_teardown_is_still_signalled():
    app, bp = _app_with_blueprint()
    app.register_blueprint(bp, url_prefix="/api")
    torn_down = []

    def on_teardown(sender, exc=None, **extra):
        torn_down.append(exc)

    with request_tearing_down.connected_to(on_teardown, app):
        answer = app.test_client().get("/api/thing/a")
    assert answer.status_code == 200 and answer.get_json()["name"] == "a"
    assert torn_down == [None]
    assert app._request_hooks is False


def test_hooks_on_the_app_and_on_a_blueprint_all_run():
    app, bp = _app_with_blueprint()
    ran = []

    @bp.url_value_preprocessor
    def upper(endpoint, values):
        values["name"] = values["name"].upper()

    @bp.before_request
    def blueprint_before():
        request.environ.setdefault("seen", []).append("blueprint")

    @bp.teardown_request
    def blueprint_teardown(exc):
        ran.append("blueprint teardown")

    app.register_blueprint(bp, url_prefix="/api")

    @app.before_request
    def app_before():
        request.environ.setdefault("seen", []).append("app")

    @app.teardown_request
    def app_teardown(exc):
        ran.append("app teardown")

    answer = app.test_client().get("/api/thing/a").get_json()
    assert answer == {"name": "A", "seen": ["app", "blueprint"]}
    assert ran == ["blueprint teardown", "app teardown"]
    assert app._request_hooks is True


def test_a_before_request_answer_still_replaces_the_view():
    app, bp = _app_with_blueprint()
    app.register_blueprint(bp, url_prefix="/api")

    @app.before_request
    def refuse():
        return {"refused": True}, 403

    answer = app.test_client().get("/api/thing/a")
    assert answer.status_code == 403 and answer.get_json() == {"refused": True}
