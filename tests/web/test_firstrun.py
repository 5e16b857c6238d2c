"""First run: ``interchange demo --serve`` opens a dashboard on each node's own database with a
ready-made operator token; signing in with it shows that node's agencies."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from interchange.api.web.firstrun import Dashboards
from interchange.demo.network import prepare
from interchange.demo.scenario import demo_spec


def test_each_node_gets_a_dashboard_and_a_working_token(tmp_path: Path) -> None:
    spec, cast = demo_spec()
    prepared = prepare(spec, tmp_path)
    with Dashboards(prepared.node_configs) as dashboards:
        assert {d.name for d in dashboards.started} == set(prepared.node_configs)
        department = next(d for d in dashboards.started if d.name == "department")
        assert department.url.startswith("http://127.0.0.1:") and department.url.endswith("/ui/")
        with httpx.Client(base_url=department.url.removesuffix("/ui/")) as c:
            form = c.get("/ui/login")
            nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
            assert nonce
            r = c.post(
                "/ui/login",
                data={"token": department.token, "nonce": nonce.group(1)},
                follow_redirects=True,
            )
            assert r.status_code == 200 and "Tổng quan" in r.text
            assert f'data-tenant="{cast.department}"' in r.text
    for d in dashboards.started:  # stopped on exit
        try:
            httpx.get(d.url, timeout=1)
            raise AssertionError(f"{d.name} still serving")
        except httpx.TransportError:
            pass
