"""Parse autodiscover answers with exchangelib (a real autodiscover client) and print what it
read as JSON lines. Usage: exchangelib_parse.py FILE..."""
import json
import sys

from exchangelib.autodiscover.properties import Autodiscover
from exchangelib.errors import AutoDiscoverFailed

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        ad = Autodiscover.from_bytes(f.read())
    try:
        ad.raise_errors()
    except AutoDiscoverFailed as e:
        print(json.dumps({"file": path, "error": str(e)}))
        continue
    account = ad.response.account
    print(json.dumps({
        "file": path,
        "display_name": ad.response.user.display_name,
        "account_type": account.type,
        "action": account.action,
        "protocols": [
            {"type": p.type, "server": p.server, "port": p.port, "ssl": p.ssl, "spa": p.spa,
             "login_name": p.login_name, "auth_required": p.auth_required}
            for p in account.protocols
        ],
    }))
