"""The yardstick between "hello" and the portal that bench/load.py measures: a plain SQLAlchemy +
Jinja page of 50 rows, with no sign-in, policy, layout or security headers, over the same
database and under the same gunicorn settings (the issue's "plain 50-row page")."""

from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, render_template_string
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    tlp: Mapped[str]
    created_at: Mapped[datetime]


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Plain page</title></head>
<body><h1>Plain page</h1>
<table><thead><tr><th>Id</th><th>Title</th><th>Marking</th><th>Created</th></tr></thead><tbody>
{%- for post in posts %}
<tr><td><a href="/posts/{{ post.id }}">{{ post.id }}</a></td><td>{{ post.title }}</td><td>TLP:{{ post.tlp }}</td>
<td>{{ post.created_at.strftime('%d %B %Y') }}</td></tr>
{%- endfor %}
</tbody></table></body></html>"""

engine = sa.create_engine(os.environ["PAX_DATABASE_URL"], pool_size=8)
app = Flask(__name__)


@app.get("/")
def plain() -> str:
    with Session(engine) as session:
        posts = list(session.scalars(sa.select(Post).order_by(Post.id.desc()).limit(50)))
        return render_template_string(PAGE, posts=posts)
