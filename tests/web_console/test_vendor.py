"""The console's vendored libraries are the ones vendor.json pins, importable by a browser
without an import map, licensed, and free of eval; re-vendoring refuses a tampered tarball."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile

import pytest

from web_console import vendor


def test_the_committed_files_are_the_pinned_ones() -> None:
    for manifest, folder in vendor.LOCATIONS:
        assert vendor.mismatches(vendor.load_manifest(manifest), folder) == [], manifest


def test_every_package_ships_its_licence_and_a_pinned_tarball() -> None:
    for package in [p for m, _ in vendor.LOCATIONS for p in vendor.load_manifest(m)]:
        files = [f["file"] for f in package["files"]]
        assert any(f.endswith("/LICENSE") for f in files), package["name"]
        assert package["integrity"].startswith("sha512-"), package["name"]
        assert package["tarball"].startswith(f"{vendor.REGISTRY}/{package['name']}/-/")
        assert package["version"] in package["tarball"]


def test_every_vendored_import_is_relative_and_resolves_to_a_vendored_file() -> None:
    modules = [
        f["file"]
        for package in vendor.load_manifest()
        for f in package["files"]
        if f["file"].endswith(".js")
    ]
    assert modules
    for module in modules:
        path = vendor.VENDOR / module
        code = path.read_text()
        assert vendor.bare_imports(code) == [], module
        # Not across lines: prose in a comment (uPlot's '// is a "from" band edge') is no import.
        for specifier in re.findall(r"""\bfrom\s*["']([^"'\n]+)["']""", code):
            assert (path.parent / specifier).resolve().is_file(), (module, specifier)
        # The console's CSP has no 'unsafe-eval': a library that needs it would break there.
        assert not re.search(r"\beval\s*\(|new Function\b", code), module


def test_axe_core_is_a_test_asset_the_console_never_serves() -> None:
    (axe,) = vendor.load_manifest(vendor.TEST_MANIFEST)
    assert axe["name"] == "axe-core"
    assert not any("axe" in f.name for f in vendor.VENDOR.rglob("*"))


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _package(tarball: bytes) -> vendor.Package:
    digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return vendor.Package(
        name="demo",
        version="1.0.0",
        license="MIT",
        tarball="https://registry.npmjs.org/demo/-/demo-1.0.0.tgz",
        integrity=f"sha512-{digest}",
        files=[
            vendor.VendoredFile(
                file="demo/demo.js",
                source="package/dist/demo.mjs",
                imports={"preact": "../preact/preact.js"},
                sha256="",
            )
        ],
    )


def test_extracting_makes_the_listed_imports_relative_and_drops_the_source_map() -> None:
    code = b'import{h as e}from"preact";export{e};\n//# sourceMappingURL=demo.mjs.map'
    tarball = _tarball({"package/dist/demo.mjs": code})
    package = _package(tarball)
    vendor.check_integrity(tarball, package["integrity"])
    files = vendor.extract(tarball, package)
    assert files["demo/demo.js"] == b'import{h as e}from"../preact/preact.js";export{e};\n'


def test_an_unlisted_bare_import_or_a_tampered_tarball_is_refused() -> None:
    tarball = _tarball({"package/dist/demo.mjs": b'import"preact/compat";'})
    package = _package(tarball)
    with pytest.raises(vendor.VendorError, match="preact/compat"):
        vendor.extract(tarball, package)
    tampered = _tarball({"package/dist/demo.mjs": b"export const evil = 1;"})
    with pytest.raises(vendor.VendorError, match="integrity"):
        vendor.check_integrity(tampered, package["integrity"])
