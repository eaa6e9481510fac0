"""The lb-consumers wire format, as the real loadbalancer-interface reads it.

Run with the library's venv (build/lbi-venv, made by scripts/install-deps):

  lbi.py requests
      Prints {name: request JSON} for a fixed corpus of requests, each built
      with the library's own Request schema and dumped as a consumer does
      (sent_hash = the request's hash, then dumps()).

  lbi.py read  < [{"request": "<request JSON>", "response": "<response JSON>"}, ...]
      Reads every answer back with the library: Request.loads(request,
      response) (the Response schema alone when "request" is null), which loads the response through the Response schema (enum
      by name, address or error, error_fields keys among the request's
      fields). Prints one object per pair: {"name", "ok", "problem", "error"
      (the enum member name), "error_fields", "address", "complete"
      (received_hash == sent_hash, the consumer's test)}.
"""

import hashlib
import json
import sys

from loadbalancer_interface.schemas import v1


def build(name, **fields):
    """A request as kubernetes-control-plane's library builds it."""
    req = v1.Request()
    req.id = hashlib.md5(name.encode()).hexdigest()
    req.name = name
    health_checks = fields.pop("health_checks", [])
    for key, value in fields.items():
        setattr(req, key, value)
    for hc in health_checks:
        req.add_health_check(**hc)
    req.sent_hash = None
    req.sent_hash = req.hash
    return req.dumps()


LIVEZ = {"protocol": v1.Protocols.http, "port": 6443, "path": "/livez",
         "interval": 30, "retries": 3}


def corpus():
    tcp = v1.Protocols.tcp
    return {
        "api-server-external": build("api-server-external", protocol=tcp,
                                     port_mapping={443: 6443}, public=True,
                                     health_checks=[LIVEZ]),
        "api-server-internal": build("api-server-internal", protocol=tcp,
                                     port_mapping={6443: 6443}, public=False,
                                     health_checks=[LIVEZ]),
        "loopback": build("loopback", protocol=tcp, port_mapping={8080: 80},
                          backends=["127.0.0.1"]),
        "metadata": build("metadata", protocol=tcp, port_mapping={8081: 80},
                          backends=["169.254.169.254"]),
        "not-a-unit": build("not-a-unit", protocol=tcp,
                            port_mapping={8083: 80}, backends=["192.0.2.200"]),
        "timer-overflow": build("timer-overflow", protocol=tcp,
                                port_mapping={8082: 6443},
                                health_checks=[dict(LIVEZ, interval=3000000,
                                                    retries=2000000000)]),
        "udp": build("udp", protocol=v1.Protocols.udp,
                     port_mapping={5353: 5353}),
        "tls": build("tls", protocol=v1.Protocols.https,
                     port_mapping={8443: 6443}, tls_termination=True),
        "same-port": build("same-port", protocol=tcp,
                           port_mapping={443: 8443}),
    }


def read(pairs):
    out = []
    for pair in pairs:
        row = {"ok": False, "problem": None, "error": None,
               "error_fields": None, "address": None, "complete": False}
        try:
            if pair["request"] is None:
                # A request the library could not have sent (garbage JSON):
                # the answer is read through the Response schema alone.
                req = v1.Request()
                req.name = "unparsed"
                req.response._update(json.loads(pair["response"]))
            else:
                req = v1.Request.loads(pair["request"], pair["response"])
            resp = req.response
            row["name"] = req.name
            row["error"] = resp.error.name if resp.error else None
            row["error_fields"] = resp.error_fields
            row["address"] = resp.address
            row["complete"] = bool(resp.received_hash) and \
                resp.received_hash == req.sent_hash
            # The response must also survive the library's own round trip.
            v1.Response(req)._update(json.loads(resp.dumps()))
            row["ok"] = True
        except Exception as e:  # the test shows what the library said
            row["problem"] = "%s: %s" % (type(e).__name__, e)
        out.append(row)
    return out


def main():
    if sys.argv[1:] == ["requests"]:
        print(json.dumps(corpus()))
    elif sys.argv[1:] == ["read"]:
        print(json.dumps(read(json.load(sys.stdin))))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
