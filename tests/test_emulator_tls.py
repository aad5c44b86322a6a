"""The emulator's HTTPS certificate is made when HTTPS is asked for; no private key ships.

Issue 11 item 6: secret scanners flag any private key in a firmware image, so the runtime package
must not contain ``emulator.pem``. The certificate comes from trustme (the test extra), else the
openssl command line, else a clear error names ``--cert``/``--key`` and the test extra.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import shutil
import ssl
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from reolink.emulator import Emulator, tls
from reolink.emulator import cli as emulator_cli

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reolink", "transports")


def served_certificate(port: int) -> x509.Certificate:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    return x509.load_pem_x509_certificate(pem.encode())


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def fingerprint(port: int) -> str:
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))
    return hashlib.sha256(der).hexdigest()


# --- what the package ships ---------------------------------------------------------------------


def test_no_private_key_or_pem_file_in_the_runtime_packages() -> None:
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            assert path.suffix not in (".pem", ".key", ".crt", ".p12"), path
            assert b"PRIVATE KEY-----" not in path.read_bytes(), path


def test_package_data_lists_no_certificate_or_key() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    package_data = dict(config.items("options.package_data"))
    assert set(package_data) <= set(PACKAGES)
    for patterns in package_data.values():
        for pattern in patterns.replace(",", " ").split():
            assert pattern == "py.typed", pattern  # nothing but the typing marker
    manifest = ROOT / "MANIFEST.in"
    if manifest.exists():
        assert "pem" not in manifest.read_text(encoding="utf-8")


# --- where the certificate comes from -----------------------------------------------------------


def test_https_certificate_made_with_trustme_fresh_per_emulator() -> None:
    pytest.importorskip("trustme")
    with Emulator(https=True) as first, Emulator(https=True) as second:
        assert common_name(served_certificate(first.port)) == tls.COMMON_NAME
        assert fingerprint(first.port) != fingerprint(second.port)  # made, not bundled


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command here")
def test_openssl_makes_it_when_trustme_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)  # `import trustme` raises ImportError
    with Emulator(https=True) as emu:
        cert = served_certificate(emu.port)
    assert common_name(cert) == tls.COMMON_NAME
    assert cert.issuer == cert.subject  # self-signed by openssl, not a trustme CA
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)


def no_way_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)
    monkeypatch.setattr(tls.shutil, "which", lambda _name: None)


def test_clear_error_when_no_certificate_can_be_made(monkeypatch: pytest.MonkeyPatch) -> None:
    no_way_to_make_one(monkeypatch)
    with pytest.raises(tls.CertificateUnavailable) as info:
        Emulator(https=True)
    message = str(info.value)
    assert "--cert" in message and "--key" in message and "reolink-lan-driver[test]" in message
    # Plain HTTP needs no certificate at all.
    with Emulator() as emu:
        assert emu.url.startswith("http://")


def test_emulate_without_a_certificate_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_way_to_make_one(monkeypatch)
    parser = argparse.ArgumentParser()
    emulator_cli.add_arguments(parser)
    status = emulator_cli.run(parser.parse_args(["--https"]))
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1 and err.startswith("reolink emulate: HTTPS needs a certificate")
    assert "--cert" in err


def test_given_certificate_is_served(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    leaf = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    parser = argparse.ArgumentParser()
    emulator_cli.add_arguments(parser)
    # --cert alone means HTTPS with that certificate.
    emu = emulator_cli._start(parser.parse_args(["--cert", str(cert), "--key", str(key)]))
    try:
        assert emu.url.startswith("https://")
        served = served_certificate(emu.port)
    finally:
        emu.stop()
    expected = x509.load_pem_x509_certificate(cert.read_bytes())
    assert served == expected
