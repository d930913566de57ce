"""moto server with the routes and behaviours moto 5.2.5 lacks and Headroom's `collect` needs.

Usage: python headroom_moto.py -H 127.0.0.1 -p PORT   (the same flags as `moto_server`)

moto 5.2.5 answers Lambda `ListFunctionUrlConfigs` with 404 (no route) and OpenSearch
Serverless `CreateAccessPolicy` / `GetAccessPolicy` / `ListAccessPolicies` with 500 (not
implemented). This wrapper registers them before starting the server, behaving as the AWS API
reference describes (pagination included), so the end-to-end test exercises the same code
paths as real AWS. Everything else is plain moto.

moto never denies a call. To test a permission gap end to end, `GetAccessPolicy` answers
`AccessDeniedException` (HTTP 403) for policies whose name starts with `headroom-denied-`.

moto 5.2.5 answers Organizations read calls (`Describe*`, `List*`) made from a member account
from that account's own, empty backend. AWS answers them from the organization when the member
is a delegated administrator (through the organization's delegation policy, which moto does
not model). The wrapper treats an account registered as a delegated administrator (for any
service) as holding that delegation: its read calls see the management account's organization.
Write calls and other members are unchanged.

moto answers in microseconds, AWS in tens of milliseconds. To measure how `collect` overlaps
calls, every request can be delayed: `HEADROOM_MOTO_LATENCY_MS` (default 0, no delay) sets the
delay at startup, and `POST /moto-api/headroom-latency` with the milliseconds as the body sets
it at runtime (so an organization can be seeded fast, then collected slowly). Either also
resets the counters that `GET /moto-api/headroom-latency` returns as JSON: the delay, the
requests served and the most requests in flight at once. The delay is a sleep in each request's
own thread (the server is threaded) before moto dispatches the request, so outside moto's
dispatch and backend locks: delayed requests overlap as they do against AWS.
"""

import json
import os
import threading
import time
from urllib.parse import unquote

from moto.awslambda import urls as lambda_urls
from moto.core.exceptions import JsonRESTError
from moto.awslambda.exceptions import UnknownFunctionException
from moto.awslambda.responses import LambdaResponse
from moto.opensearchserverless.exceptions import ConflictException, ResourceNotFoundException
from moto.opensearchserverless.responses import OpenSearchServiceServerlessResponse

# --- Lambda: ListFunctionUrlConfigs -------------------------------------------------------

lambda_urls.url_paths[
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"
] = LambdaResponse.dispatch


def list_function_url_configs(self):
    function_name = unquote(self.path.split("?")[0].rstrip("/").split("/")[-2])
    fn = self.backend._lambdas.get_function_by_name_or_arn_forbid_qualifier(function_name)
    if not fn:
        raise UnknownFunctionException(arn=function_name)
    configs = [fn.url_config.to_dict()] if fn.url_config else []
    return 200, {}, json.dumps({"FunctionUrlConfigs": configs})


LambdaResponse.list_function_url_configs = list_function_url_configs

# --- OpenSearch Serverless: data access policies -------------------------------------------

_ACCESS_POLICIES = {}  # (account, region) -> {(type, name): detail}
_LOCK = threading.Lock()


def _store(self):
    return _ACCESS_POLICIES.setdefault((self.current_account, self.region), {})


def create_access_policy(self):
    params = json.loads(self.body)
    key = (params["type"], params["name"])
    now = int(time.time() * 1000)
    with _LOCK:
        store = _store(self)
        if key in store:
            raise ConflictException(f"Policy with name {params['name']} already exists")
        store[key] = {
            "name": params["name"],
            "type": params["type"],
            "description": params.get("description", ""),
            "policyVersion": "MTY4NzM1NDc0NjU0NV8x",
            "policy": json.loads(params["policy"]),
            "createdDate": now,
            "lastModifiedDate": now,
        }
        detail = store[key]
    return json.dumps({"accessPolicyDetail": detail})


class AccessDeniedException(JsonRESTError):
    code = 403

    def __init__(self, message):
        super().__init__("AccessDeniedException", message)


def get_access_policy(self):
    params = json.loads(self.body)
    if params["name"].startswith("headroom-denied-"):
        raise AccessDeniedException(
            f"User is not authorized to perform: aoss:GetAccessPolicy on policy {params['name']}"
        )
    with _LOCK:
        detail = _store(self).get((params["type"], params["name"]))
    if detail is None:
        raise ResourceNotFoundException(f"Policy {params['name']} not found")
    return json.dumps({"accessPolicyDetail": detail})


def list_access_policies(self):
    params = json.loads(self.body)
    with _LOCK:
        details = sorted(
            (d for (t, _), d in _store(self).items() if t == params["type"]),
            key=lambda d: d["name"],
        )
    start = int(params.get("nextToken") or 0)
    size = int(params.get("maxResults") or 20)
    page = details[start : start + size]
    body = {
        "accessPolicySummaries": [
            {k: d[k] for k in ("name", "type", "description", "policyVersion", "createdDate", "lastModifiedDate")}
            for d in page
        ]
    }
    if start + size < len(details):
        body["nextToken"] = str(start + size)
    return json.dumps(body)


OpenSearchServiceServerlessResponse.create_access_policy = create_access_policy
OpenSearchServiceServerlessResponse.get_access_policy = get_access_policy
OpenSearchServiceServerlessResponse.list_access_policies = list_access_policies

# --- Organizations: reads from a delegated administrator -----------------------------------

from moto.organizations.models import organizations_backends
from moto.organizations.responses import OrganizationsResponse


def _organizations_backend(self):
    own = organizations_backends[self.current_account][self.partition]
    if own.org is not None:
        return own
    management = organizations_backends.master_accounts.get(self.current_account)
    if management is None:
        return own
    backend = organizations_backends[management[0]][management[1]]
    action = (self.headers.get("X-Amz-Target") or "").rsplit(".", 1)[-1]
    delegated = any(admin.account.id == self.current_account for admin in backend.admins)
    if delegated and action.startswith(("Describe", "List")):
        return backend
    return own


OrganizationsResponse.organizations_backend = property(_organizations_backend)

# --- Injected latency -----------------------------------------------------------------------

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

LATENCY_PATH = "/moto-api/headroom-latency"
_latency = {"ms": int(os.environ.get("HEADROOM_MOTO_LATENCY_MS") or 0)}
_traffic = {"requests": 0, "in_flight": 0, "peak_in_flight": 0}
_TRAFFIC_LOCK = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _latency_control(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        ms = int(environ["wsgi.input"].read(size).decode() or 0)
        with _TRAFFIC_LOCK:
            _latency["ms"] = ms
            _traffic.update(requests=0, peak_in_flight=_traffic["in_flight"])
    with _TRAFFIC_LOCK:
        body = json.dumps(
            {
                "latency_ms": _latency["ms"],
                "requests": _traffic["requests"],
                "peak_in_flight": _traffic["peak_in_flight"],
            }
        ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _delayed_dispatch(self, environ, start_response):
    if environ.get("PATH_INFO") == LATENCY_PATH:
        return _latency_control(environ, start_response)
    with _TRAFFIC_LOCK:
        _traffic["requests"] += 1
        _traffic["in_flight"] += 1
        _traffic["peak_in_flight"] = max(_traffic["peak_in_flight"], _traffic["in_flight"])
        delay = _latency["ms"] / 1000
    try:
        if delay:
            time.sleep(delay)
        return _dispatch(self, environ, start_response)
    finally:
        with _TRAFFIC_LOCK:
            _traffic["in_flight"] -= 1


DomainDispatcherApplication.__call__ = _delayed_dispatch

if __name__ == "__main__":
    from moto.server import main

    main()
