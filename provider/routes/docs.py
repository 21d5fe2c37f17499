"""The API description: OpenAPI JSON and a self-contained HTML page rendered from it.

The page loads nothing from elsewhere (no CDN), so it works on an offline host and adds
no third-party script to the provider's origin.
"""
from __future__ import annotations

import html
from functools import lru_cache

from flask import Blueprint, Response, jsonify

from provider import VERSION
from provider.openapi import document

bp = Blueprint("docs", __name__)


def unlisted(view):
    """Not announced in the root's serviceEndpoints (clients look endpoints up there by name)."""
    view.unlisted = True
    return view


@lru_cache(maxsize=1)
def _document() -> dict:
    return document(VERSION)


@bp.get("/api/services/openapi.json")
@unlisted
def openapi():
    return jsonify(_document())


@bp.get("/spec")
def spec():
    return jsonify(_document())


@bp.get("/api/docs")
def docs():
    return Response(_render(_document()), content_type="text/html; charset=utf-8")


def _render(doc: dict) -> str:
    esc = html.escape
    sections: dict[str, list[str]] = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            params = "".join(
                f"<li><code>{esc(p['name'])}</code> ({esc(p['in'])}{', required' if p.get('required') else ''})"
                f"{' - ' + esc(p['description']) if p.get('description') else ''}</li>"
                for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {})
            body_text = f"<p>Body: {esc(', '.join(body))}</p>" if body else ""
            statuses = ", ".join(esc(code) for code in op["responses"])
            auth = "<p>Signature, or an <code>AuthToken</code> header.</p>" if op.get("security") else ""
            sections.setdefault(op["tags"][0], []).append(
                f"<section><h3><span class=m>{method.upper()}</span> <code>{esc(path)}</code></h3>"
                f"<p>{esc(op['summary'])}</p>{('<p>' + esc(op['description']) + '</p>') if op.get('description') else ''}"
                f"{auth}{('<ul>' + params + '</ul>') if params else ''}{body_text}<p>Statuses: {statuses}</p></section>")
    parts = "".join(f"<h2>{esc(tag)}</h2>{''.join(items)}" for tag, items in sections.items())
    return ("<!doctype html><html><head><meta charset=utf-8><title>" + esc(doc["info"]["title"]) + "</title>"
            "<style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "section{border-top:1px solid #ddd;padding:.3rem 0}.m{font-weight:700;color:#246}"
            "code{background:#f3f3f3;padding:0 .2rem}</style></head><body>"
            f"<h1>{esc(doc['info']['title'])} <small>{esc(doc['info']['version'])}</small></h1>"
            f"<p>{esc(doc['info']['description'])} Machine-readable: "
            "<a href=\"/api/services/openapi.json\">/api/services/openapi.json</a>.</p>"
            f"{parts}</body></html>")
