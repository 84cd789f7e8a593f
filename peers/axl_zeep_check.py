#!/usr/bin/env python3
"""Conformance check of the AXL emulator with a real SOAP client (zeep).

Usage: axl_zeep_check.py URL USER PASSWORD USERID...

Loads Cisco's AXL 12.5 WSDL from the installed PyPI package `ciscoaxl` (not copied into this
repository), points the service at URL (e.g. http://127.0.0.1:PORT/axl/), runs
executeSQLQuery for the given user ids and checks that every id comes back exactly once with
its userid and an e-mail-shaped (or empty) mailid. Exits 0 on success, 1 on any mismatch and
2 when zeep/ciscoaxl are missing.
"""
import os
import sys


def fail(msg, code=1):
    print(f"axl_zeep_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(code)


try:
    import ciscoaxl
    from requests import Session
    from requests.auth import HTTPBasicAuth
    from zeep import Client, Settings
    from zeep.transports import Transport
except ImportError as e:  # pragma: no cover
    fail(f"missing Python package ({e}); run: pip install ciscoaxl zeep", 2)


def wsdl_path(version="12.5"):
    base = os.path.dirname(ciscoaxl.__file__)
    for root, _dirs, files in os.walk(base):
        if os.path.basename(root) == version and "AXLAPI.wsdl" in files and "AXLSoap.xsd" in files:
            return os.path.join(root, "AXLAPI.wsdl")
    fail(f"AXLAPI.wsdl for {version} not found under {base}; run: pip install ciscoaxl", 2)


def row_to_dict(row):
    """zeep returns each anyType row as a list of lxml elements (or one element)."""
    if hasattr(row, "iterchildren"):
        row = list(row.iterchildren())
    out = {}
    for col in row:
        tag = col.tag.split("}")[-1]
        out[tag] = col.text or ""
    return out


def sql_literal(value):
    return "'" + value.replace("'", "''") + "'"


def main(argv):
    if len(argv) < 5:
        fail("usage: axl_zeep_check.py URL USER PASSWORD USERID...", 2)
    url, user, password, userids = argv[1], argv[2], argv[3], argv[4:]
    session = Session()
    session.auth = HTTPBasicAuth(user, password)
    session.verify = False
    client = Client(wsdl_path(), settings=Settings(strict=False, xml_huge_tree=True),
                    transport=Transport(session=session, timeout=20))
    service = client.create_service("{http://www.cisco.com/AXLAPIService/}AXLAPIBinding", url)
    sql = "SELECT userid, mailid, directoryuri FROM enduser WHERE userid IN ({}) ORDER BY userid".format(
        ", ".join(sql_literal(u) for u in userids))
    resp = service.executeSQLQuery(sql=sql)
    ret = resp["return"] if not hasattr(resp, "body") else resp.body["return"]
    rows = [] if ret is None else (ret["row"] or [])
    got = [row_to_dict(r) for r in rows]
    ids = [r.get("userid") for r in got]
    if sorted(ids) != sorted(set(userids)):
        fail(f"expected user ids {sorted(set(userids))}, got {ids}")
    if ids != sorted(ids):
        fail(f"ORDER BY userid not honoured: {ids}")
    for r in got:
        if set(r) != {"userid", "mailid", "directoryuri"}:
            fail(f"row has columns {sorted(r)}, expected userid, mailid, directoryuri")
        if r["mailid"] and "@" not in r["mailid"]:
            fail(f"mailid {r['mailid']!r} of {r['userid']} is not an e-mail address")
    # A syntax error must come back as a SOAP fault zeep understands.
    try:
        service.executeSQLQuery(sql="SELEC nonsense")
        fail("a syntax error did not raise a SOAP fault")
    except Exception as e:  # zeep.exceptions.Fault
        if type(e).__name__ != "Fault" or "syntax" not in str(e).lower():
            fail(f"expected a zeep Fault about syntax, got {type(e).__name__}: {e}")
    print(f"axl_zeep_check: OK: {len(got)} rows for {len(userids)} user ids; fault parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
