"""``interchange pki``: a throw-away PKI for tests and the demo. NOT FOR PRODUCTION."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from ..organs.codes import parse_code
from ..signing import pki

_NOTE = "NOT FOR PRODUCTION: unencrypted keys, for tests and the demo only."


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help=f"Throw-away test PKI (CA, agency certificates, CRL). {_NOTE}", no_args_is_help=True
    )

    @sub.command("init")
    def init(
        dir: Path = typer.Option(..., "--dir", help="directory for the CA"),
        ecdsa: bool = typer.Option(False, "--ecdsa", help="P-256 key instead of RSA-2048"),
    ) -> None:
        """Create a CA key, a self-signed CA certificate and an empty CRL. NOT FOR PRODUCTION."""
        ca = pki.init_ca(dir, ecdsa=ecdsa)
        typer.echo(f"CA {ca.cert_path} (key {ca.key_path}, CRL {ca.crl_path}) — {_NOTE}")

    @sub.command("issue")
    def issue(
        code: str = typer.Argument(
            ...,
            help="agency code (L4.L3.L2.L1), written as the subject UID; with --no-uid any "
            "file-name label",
        ),
        dir: Path = typer.Option(..., "--dir", help="the CA directory"),
        name: str | None = typer.Option(None, "--name", help="organisation name (subject CN)"),
        days: int = typer.Option(365, "--days", min=1),
        not_before: str | None = typer.Option(
            None, "--not-before", help="ISO date the certificate starts (tests)"
        ),
        expired: bool = typer.Option(False, "--expired", help="already expired (tests)"),
        ecdsa: bool = typer.Option(False, "--ecdsa", help="P-256 key instead of RSA-2048"),
        no_uid: bool = typer.Option(False, "--no-uid", help="no UID in the subject (tests)"),
        force: bool = typer.Option(
            False, "--force", help="replace a key and certificate already issued for CODE"
        ),
    ) -> None:
        """Issue an agency signing certificate: DIR/CODE.key.pem, DIR/CODE.cert.pem."""
        start = None
        if not_before:
            try:
                start = dt.datetime.fromisoformat(not_before)
            except ValueError:
                raise typer.BadParameter("--not-before must be an ISO date") from None
        if not no_uid:  # the UID binds the certificate to an agency: a real code only
            code = str(parse_code(code))
        key_path, cert_path = pki.issue(
            dir,
            code,
            name=name,
            days=days,
            not_before=start,
            expired=expired,
            ecdsa=ecdsa,
            uid=not no_uid,
            overwrite=force,
        )
        typer.echo(f"{code}: key {key_path}, certificate {cert_path} — {_NOTE}")

    @sub.command("revoke")
    def revoke(
        code: str = typer.Argument(..., help="agency code whose certificate to revoke"),
        dir: Path = typer.Option(..., "--dir", help="the CA directory"),
    ) -> None:
        """Add DIR/CODE.cert.pem to the CRL and write DIR/crl.pem."""
        typer.echo(f"revoked {code}; CRL {pki.revoke(dir, code)}")

    @sub.command("crl")
    def crl(
        dir: Path = typer.Option(..., "--dir", help="the CA directory"),
        days: int = typer.Option(30, "--days", min=1),
    ) -> None:
        """Re-issue the CRL (same entries, fresh dates)."""
        typer.echo(f"CRL {pki.write_crl(dir, days=days)}")

    app.add_typer(sub, name="pki")
