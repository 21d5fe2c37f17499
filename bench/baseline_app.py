"""The baseline: the smallest Flask app, served by the same gunicorn settings as the provider."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def hello():
    return jsonify(ok=True)
