"""The console's vendored front-end libraries (``static/vendor/``), re-fetched from the npm
registry and checked: ``make vendor`` (``python -m web_console.vendor``).

``static/vendor/vendor.json`` pins each package: its version, its tarball's address and the
registry's ``integrity`` (SHA-512 of the tarball), and each file taken from it with the SHA-256
of the file as committed. Re-vendoring downloads each tarball, refuses it unless its SHA-512 is
the pinned one, takes the files out, makes their imports relative and writes them only if every
SHA-256 matches. ``--check`` compares the committed files with the pins, offline (a test does
the same). ``--pin`` is for a version bump: after editing a version in vendor.json, it asks the
registry for that version's tarball and integrity, and records the new files' SHA-256.

Only the modules' import specifiers are changed, and only as listed in vendor.json: the
browser resolves no bare specifier ("preact") without an import map, and the console's
Content-Security-Policy (``script-src 'self'``) refuses the inline ``<script
type="importmap">`` that would declare one. The ``//# sourceMappingURL`` line goes too (the
maps are not vendored). Nothing here runs at install, test or run time.

``tests/e2e/vendor/vendor.json`` pins the same way what only the tests use: axe-core, which
the accessibility test injects into the console's pages. It is not served from the console
(``static/``): 650 KB a visitor never needs, and it carries a ``new Function`` the console's
CSP exists to refuse. Both manifests are re-vendored and checked together.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import TypedDict

VENDOR = Path(__file__).parent / "static" / "vendor"
MANIFEST = VENDOR / "vendor.json"
# Test-only assets (axe-core): same manifest format, never served.
TEST_VENDOR = Path(__file__).parents[1] / "tests" / "e2e" / "vendor"
TEST_MANIFEST = TEST_VENDOR / "vendor.json"
LOCATIONS = ((MANIFEST, VENDOR), (TEST_MANIFEST, TEST_VENDOR))
REGISTRY = "https://registry.npmjs.org"
# A tarball of these libraries is well under 1 MB; a larger answer is not what we asked for.
MAX_TARBALL = 20 * 1024 * 1024
TIMEOUT = 60


class VendoredFile(TypedDict, total=False):
    file: str  # path under static/vendor/
    source: str  # path inside the package's tarball
    sha256: str
    # bare import specifier -> the relative path that replaces it
    imports: dict[str, str]
    # a classic script, not an ES module: taken as it is (its minified code would look like
    # bare imports to the relinker)
    script: bool


class Package(TypedDict):
    name: str
    version: str
    license: str
    tarball: str
    integrity: str
    files: list[VendoredFile]


class VendorError(Exception):
    """A tarball or a file that is not what vendor.json pins."""


def load_manifest(path: Path = MANIFEST) -> list[Package]:
    packages: list[Package] = json.loads(path.read_text())["packages"]
    return packages


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_integrity(tarball: bytes, integrity: str) -> None:
    """VendorError unless ``tarball`` has the registry's Subresource-Integrity value."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise VendorError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        raise VendorError(f"tarball integrity {algorithm}-{actual} is not the pinned {integrity}")


# `from "x"`, `from'x'`, `import "x"`, `import("x")`, `export … from "x"`: the specifier only.
_SPECIFIER = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\2""")
_SOURCE_MAP = re.compile(r"//# sourceMappingURL=\S+\s*$")


def bare_imports(code: str) -> list[str]:
    """The specifiers a browser could not resolve without an import map."""
    found = (m.group(3) for m in _SPECIFIER.finditer(code))
    return sorted({s for s in found if not s.startswith(("./", "../", "/"))})


def relink(code: str, imports: dict[str, str]) -> str:
    """The module with its listed bare imports made relative and its source-map line gone."""

    def swap(match: re.Match[str]) -> str:
        lead, quote, specifier = match.groups()
        return f"{lead}{quote}{imports.get(specifier, specifier)}{quote}"

    code = _SOURCE_MAP.sub("", _SPECIFIER.sub(swap, code))
    left = bare_imports(code)
    if left:
        raise VendorError(f"bare imports left (add them to 'imports'): {', '.join(left)}")
    return code


def extract(tarball: bytes, package: Package) -> dict[str, bytes]:
    """The package's vendored files (path under static/vendor/ -> content), each checked."""
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for entry in package["files"]:
            member = archive.extractfile(entry["source"])
            if member is None:
                raise VendorError(f"{package['name']}: {entry['source']} is not a file")
            data = member.read()
            if entry["file"].endswith(".js") and not entry.get("script", False):
                data = relink(data.decode(), entry.get("imports", {})).encode()
            out[entry["file"]] = data
    return out


def fetch(url: str) -> bytes:
    if not url.startswith("https://"):
        raise VendorError(f"refusing a non-HTTPS address: {url}")
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        data: bytes = response.read(MAX_TARBALL + 1)
    if len(data) > MAX_TARBALL:
        raise VendorError(f"{url}: larger than {MAX_TARBALL} bytes")
    return data


def revendor(packages: list[Package], vendor: Path = VENDOR, pin: bool = False) -> None:
    """Fetch, check and write every package's files; with ``pin``, take the registry's
    tarball and integrity for the pinned version and record the files' new SHA-256."""
    for package in packages:
        if pin:
            meta = json.loads(fetch(f"{REGISTRY}/{package['name']}/{package['version']}"))
            package["tarball"] = meta["dist"]["tarball"]
            package["integrity"] = meta["dist"]["integrity"]
            package["license"] = meta.get("license", package["license"])
        tarball = fetch(package["tarball"])
        check_integrity(tarball, package["integrity"])
        files = extract(tarball, package)
        for entry in package["files"]:
            digest = sha256(files[entry["file"]])
            if pin:
                entry["sha256"] = digest
            elif digest != entry["sha256"]:
                raise VendorError(f"{entry['file']}: sha256 {digest} is not the pinned one")
        for name, data in files.items():
            target = vendor / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        print(f"{package['name']}@{package['version']}: {len(files)} files")


def mismatches(packages: list[Package], vendor: Path = VENDOR) -> list[str]:
    """What differs between the committed files and vendor.json (empty when all match)."""
    problems = []
    for package in packages:
        for entry in package["files"]:
            path = vendor / entry["file"]
            if not path.is_file():
                problems.append(f"{entry['file']}: missing")
            elif sha256(path.read_bytes()) != entry["sha256"]:
                problems.append(f"{entry['file']}: sha256 differs from vendor.json")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web_console.vendor", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare files with vendor.json")
    mode.add_argument("--pin", action="store_true", help="re-pin after a version change")
    args = parser.parse_args(argv)
    failed = False
    for manifest, folder in LOCATIONS:
        packages = load_manifest(manifest)
        if args.check:
            problems = mismatches(packages, folder)
            for problem in problems:
                print(problem, file=sys.stderr)
            failed = failed or bool(problems)
            continue
        try:
            revendor(packages, folder, pin=args.pin)
        except (VendorError, OSError) as error:
            print(f"vendor: {error}", file=sys.stderr)
            return 1
        if args.pin:
            manifest.write_text(json.dumps({"packages": packages}, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
