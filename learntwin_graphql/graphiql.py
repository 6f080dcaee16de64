"""GraphiQL as this server serves it in development: Strawberry's page, with a headers
example to start from and subscriptions that use the headers the queries use.

GraphiQL hands its headers editor's headers to every HTTP request, but opens its
WebSocket with the parameters its fetcher was made with; here the fetcher is made
again whenever the headers change, with those headers as the connection_init payload
(the server reads `X-API-Key` and `Authorization` there as on HTTP)."""

from __future__ import annotations

import json
from functools import cache

from strawberry.http.ides import get_graphql_ide_html

from learntwin_graphql.config import DEV_API_KEY, Settings

_STATIC_FETCHER = """      const fetcher = GraphiQL.createFetcher({
        url: fetchURL,
        headers: defaultHeaders,
        subscriptionUrl,
      });
"""
_HEADERS_STATE = "const [headers, setHeaders] = React.useState(parameters.headers);"
_LIVE_FETCHER = """const [headers, setHeaders] = React.useState(
          parameters.headers || EXAMPLE_HEADERS,
        );
        // The WebSocket's connection_init carries the same headers as the queries.
        const fetcher = React.useMemo(function () {
          let parsed = {};
          try {
            parsed = JSON.parse(headers || "{}");
          } catch (error) {}
          return GraphiQL.createFetcher({
            url: fetchURL,
            headers: defaultHeaders,
            subscriptionUrl,
            wsConnectionParams: parsed,
          });
        }, [headers]);"""


def example_headers(settings: Settings) -> str:
    """What the headers editor starts with: the development key when it is the admin
    key (never a configured key), else a placeholder."""
    key = settings.admin_api_key
    shown = key if key == DEV_API_KEY else "<your API key>"
    return json.dumps({"X-API-Key": shown}, indent=2)


@cache
def _page(headers: str) -> str:
    html = get_graphql_ide_html(graphql_ide="graphiql")
    if _STATIC_FETCHER not in html or _HEADERS_STATE not in html:
        return html  # a Strawberry whose page changed: served as it is
    html = html.replace(_STATIC_FETCHER, "")
    html = html.replace(_HEADERS_STATE, _LIVE_FETCHER)
    return html.replace(
        "const EXAMPLE_QUERY =",
        f"const EXAMPLE_HEADERS = {json.dumps(headers)};\n      const EXAMPLE_QUERY =",
        1,
    )


def graphiql_html(settings: Settings) -> str:
    return _page(example_headers(settings))
