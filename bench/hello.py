"""The bare Flask "hello" app that bench/load.py measures beside the portal, under the same gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
