"""The operator's commands in the README's "Command line", including how they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.clusters.models import ClusterMembership
from app.directory.models import Organisation
from tests.conftest import login


def invoke(runner, *args, input=None):  # type: ignore[no-untyped-def]
    return runner.invoke(args=list(args), input=input, catch_exceptions=False)


def counts(db_session) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    return tuple(
        db_session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Organisation, User, ClusterMembership)
    )


def test_orgs_create_with_domains(runner, db_session):
    result = invoke(
        runner,
        "orgs",
        "create",
        "--name",
        "Port of Valencia",
        "--type",
        "port_authority",
        "--country",
        "es",
        "--email-domain",
        "ValenciaPort.example",
    )
    assert result.exit_code == 0, result.output
    org = db_session.scalar(sa.select(Organisation).where(Organisation.name == "Port of Valencia"))
    assert org.country == "ES"
    assert org.email_domains == ["valenciaport.example"]
    assert org.is_law_enforcement is False


@pytest.mark.parametrize("org_type", ["customs", "police", "eu_agency"])
def test_law_enforcement_is_derived_from_type(runner, db_session, org_type):
    invoke(runner, "orgs", "create", "--name", f"LE {org_type}", "--type", org_type, "--country", "FR")
    org = db_session.scalar(sa.select(Organisation).where(Organisation.name == f"LE {org_type}"))
    assert org.is_law_enforcement is True
    le_names = db_session.scalars(sa.select(Organisation.name).where(Organisation.is_law_enforcement)).all()
    assert le_names == [f"LE {org_type}"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X", "--type", "pirates", "--country", "BE"], "Invalid value for '--type'"),
        (["--name", "X", "--type", "police", "--country", "XX"], "not an ISO 3166-1 alpha-2 country code"),
        (["--name", "X", "--type", "police", "--country", "Belgium"], "not an ISO 3166-1 alpha-2 country code"),
        (
            ["--name", "X", "--type", "police", "--country", "BE", "--email-domain", "not a domain"],
            "not a valid e-mail domain",
        ),
        (["--type", "police", "--country", "BE"], "Missing option '--name'"),
        (["--name", "", "--type", "police", "--country", "BE"], "Enter the organisation's name"),
    ],
)
def test_orgs_create_bad_arguments_exit_2_with_one_line(runner, db_session, args, message):
    result = runner.invoke(args=["orgs", "create", *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
    assert counts(db_session)[0] == 0


def test_duplicate_org_name_and_domain_are_refused(runner, db_session):
    invoke(
        runner,
        "orgs",
        "create",
        "--name",
        "Alpha",
        "--type",
        "police",
        "--country",
        "BE",
        "--email-domain",
        "alpha.example",
    )
    again = runner.invoke(args=["orgs", "create", "--name", "ALPHA", "--type", "police", "--country", "BE"])
    assert again.exit_code == 2 and "already exists" in again.output
    stolen = runner.invoke(
        args=[
            "orgs",
            "create",
            "--name",
            "Beta",
            "--type",
            "police",
            "--country",
            "BE",
            "--email-domain",
            "Alpha.example",
        ]
    )
    assert stolen.exit_code == 2 and "already belongs to Alpha" in stolen.output
    assert counts(db_session)[0] == 1


def test_users_create_with_password_from_stdin(runner, client, make):
    org = make.org(name="Stdin Org")
    result = invoke(
        runner,
        "users",
        "create",
        "--email",
        "Ines@Stdin.example",
        "--name",
        "Ines",
        "--org",
        "stdin org",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    assert login(client, "ines@stdin.example", "a long enough password").status_code == 302
    assert org.id


def test_users_create_prints_a_generated_password_once(runner, client, make):
    make.org(name="Gen Org")
    result = invoke(
        runner,
        "users",
        "create",
        "--email",
        "gen@gen.example",
        "--name",
        "Gen",
        "--org",
        "Gen Org",
        "--role",
        "curator",
    )
    assert result.exit_code == 0
    password = result.output.split("Password (shown once): ")[1].strip()
    assert len(password) >= 20
    assert login(client, "gen@gen.example", password).status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "a@b.example", "--name", "A", "--org", "Nope"], "no organisation named 'Nope'"),
        (["--email", "not-an-email", "--name", "A", "--org", "Known"], "is not a valid e-mail address"),
        (["--email", "a@b.example", "--name", "A", "--org", "Known", "--role", "god"], "Invalid value for '--role'"),
    ],
)
def test_users_create_bad_arguments(runner, make, db_session, args, message):
    make.org(name="Known")
    result = runner.invoke(args=["users", "create", *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert counts(db_session)[1] == 0


def test_users_create_refuses_a_short_password(runner, make, db_session):
    make.org(name="Short")
    result = runner.invoke(
        args=["users", "create", "--email", "s@s.example", "--name", "S", "--org", "Short", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 2 and "at least 12 characters" in result.output
    assert counts(db_session)[1] == 0


def test_duplicate_email_differing_in_case_is_refused(runner, make):
    user = make.user()
    result = runner.invoke(
        args=["users", "create", "--email", user.email.upper(), "--name", "Twin", "--org", user.organisation.name]
    )
    assert result.exit_code == 2 and "already exists" in result.output


def test_users_grant_and_regrant(runner, make, db_session):
    user = make.user()
    assert (
        invoke(runner, "users", "grant", "--email", user.email, "--cluster", "policy", "--role", "reader").exit_code
        == 0
    )
    assert (
        invoke(
            runner, "users", "grant", "--email", user.email, "--cluster", "policy", "--role", "coordinator"
        ).exit_code
        == 0
    )
    roles = db_session.scalars(sa.select(ClusterMembership.role).where(ClusterMembership.user_id == user.id)).all()
    assert [r.value for r in roles] == ["coordinator"]


@pytest.mark.parametrize(
    ("cluster", "role", "message"),
    [("harbour", "reader", "Unknown cluster 'harbour'"), ("policy", "owner", "Invalid value for '--role'")],
)
def test_users_grant_bad_arguments(runner, make, cluster, role, message):
    user = make.user()
    result = runner.invoke(args=["users", "grant", "--email", user.email, "--cluster", cluster, "--role", role])
    assert result.exit_code == 2 and message in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_demo_load_is_idempotent(runner, db_session):
    first = invoke(runner, "demo", "load")
    assert "created" in first.output
    after_first = counts(db_session)
    second = invoke(runner, "demo", "load")
    assert "nothing changed" in second.output
    assert counts(db_session) == after_first
    assert after_first[0] >= 7 and after_first[1] >= 9


def test_demo_accounts_sign_in(runner, client):
    from app.demo import DEMO_PASSWORD

    invoke(runner, "demo", "load")
    assert login(client, "anna.peeters@portofantwerpbruges.example", DEMO_PASSWORD).status_code == 302


def test_demo_load_is_refused_in_production(app, runner, db_session, monkeypatch):
    """v5.0.0-6.3.2: no accounts with the published demo password in production."""
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    before = counts(db_session)
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "refused in production" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert counts(db_session) == before


@pytest.mark.slow
def test_pax_console_script_runs_the_same_commands(test_root, database_url):
    pax = Path(sys.executable).with_name("pax")
    assert pax.exists(), "the pax console script is not installed"
    env = {
        **os.environ,
        "PAX_ENV": "testing",
        "PAX_DATABASE_URL": database_url,
        "PAX_KEYS_FILE": str(test_root / "keys.json"),
        "PAX_INSTANCE_PATH": str(test_root / "instance"),
    }
    result = subprocess.run([str(pax), "db", "current"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    bad = subprocess.run(
        [str(pax), "orgs", "create", "--name", "Y"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1
    assert bad.stderr.startswith("Error: Missing option '--type'. Choose from: port_authority, terminal_operator,")
