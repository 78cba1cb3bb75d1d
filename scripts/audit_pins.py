"""The pins of requirements.txt against PyPI's vulnerability data, where pip-audit cannot get it.

pip-audit (``make audit``) asks PyPI for ``/pypi/<name>/<version>/json`` or asks OSV. Where only
the project document ``/pypi/<name>/json`` is served (as through this project's build machine's
mirror), its ``vulnerabilities`` are those of the project's latest release: a pin at the latest
release is audited by them, and a pin behind it is listed for a look at its advisories
(https://osv.dev/list?ecosystem=PyPI&q=<name>).

    python scripts/audit_pins.py [requirements.txt]

Exits 1 when a pin has a known vulnerability, 2 when a project could not be read.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)")


def pins(requirements: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for line in requirements.read_text().splitlines() if (m := PIN.match(line))]


def project(name: str) -> dict:
    with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as response:
        return json.load(response)


def main() -> int:
    requirements = Path(sys.argv[1] if len(sys.argv) > 1 else "requirements.txt")
    pinned = pins(requirements)
    with ThreadPoolExecutor(8) as pool:
        documents = list(pool.map(lambda pin: _try(project, pin[0]), pinned))
    vulnerable, behind, unread = [], [], []
    for (name, version), document in zip(pinned, documents, strict=True):
        if isinstance(document, Exception):
            unread.append(f"{name}: {document}")
        elif document["info"]["version"] != version:
            behind.append(f"{name}=={version} (latest {document['info']['version']})")
        elif document.get("vulnerabilities"):
            vulnerable += [
                f"{name}=={version}: {v['id']} {v.get('summary') or ''} (fixed in {v.get('fixed_in')})" for v in document["vulnerabilities"]
            ]
    audited = len(pinned) - len(behind) - len(unread)
    print(f"{len(pinned)} pins in {requirements}: {audited} at their latest release, audited: {len(vulnerable)} known vulnerabilities")
    for lines, title in ((vulnerable, "vulnerable"), (behind, "behind the latest release, not audited here"), (unread, "not read")):
        if lines:
            print(f"{title} ({len(lines)}):\n  " + "\n  ".join(lines))
    return 1 if vulnerable else 2 if unread else 0


def _try(action, *args):
    try:
        return action(*args)
    except Exception as err:  # reported per project; one unreadable project must not hide the others
        return err


if __name__ == "__main__":
    sys.exit(main())
