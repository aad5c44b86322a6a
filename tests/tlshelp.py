"""The tests' certificates: one home for the trustme CAs, leaves, CA files and pins.

Every builder is cached for the process (an RSA key takes tenths of a second to make, and a
CA is the same CA whichever test asks): :func:`make_ca` ``("main")`` is the CA the TLS tests
trust, ``("other")`` one they do not; :func:`make_leaf` issues from a named CA. Nothing here
is written to: the objects are shared read-only. Under pytest-xdist each worker (a process)
makes its own.

The fixtures (``ca``, ``rsa_cert``, ``ca_file``, ``other_ca``) are the same for every module
that imports them::

    from tlshelp import ca_file_fixture, ca_fixture, rsa_cert_fixture  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import hashlib
import ssl
from functools import cache
from pathlib import Path
from typing import Tuple

import pytest
import trustme

__all__ = [
    "ca_file_fixture",
    "ca_fixture",
    "make_ca",
    "make_leaf",
    "other_ca_fixture",
    "pin_of",
    "rsa_cert_fixture",
    "write_ca",
]


def make_ca(name: str = "main") -> trustme.CA:
    """The CA called ``name`` (one per name and process)."""
    return _ca(name)


def make_leaf(*identities: str, ca: str = "main", rsa: bool = True) -> trustme.LeafCert:
    """A server certificate for ``identities`` from the CA called ``ca`` (one per arguments
    and process); an RSA key unless ``rsa`` is False (trustme's ECDSA). RSA: the RSA key
    exchange suites of old cameras need it."""
    return _leaf(identities, ca, rsa)


# (cached behind plain functions: a cache would see make_ca() and make_ca("main") as two)
@cache
def _ca(name: str) -> trustme.CA:
    return trustme.CA()


@cache
def _leaf(identities: Tuple[str, ...], ca: str, rsa: bool) -> trustme.LeafCert:
    key_type = trustme.KeyType.RSA if rsa else trustme.KeyType.ECDSA
    return _ca(ca).issue_cert(*identities, key_type=key_type)


def pin_of(cert: trustme.LeafCert) -> str:
    """The certificate's SHA-256 fingerprint, lowercase hex (what ``tls_fingerprint`` takes)."""
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    return hashlib.sha256(der).hexdigest()


def write_ca(ca: trustme.CA, folder: Path) -> str:
    """The CA's certificate written to ``folder``/ca.pem (a ``tls_verify`` bundle)."""
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session", name="ca")
def ca_fixture() -> trustme.CA:
    """The CA the TLS tests trust."""
    return make_ca()


@pytest.fixture(scope="session", name="other_ca")
def other_ca_fixture() -> trustme.CA:
    """A CA the TLS tests do not trust."""
    return make_ca("other")


@pytest.fixture(scope="session", name="rsa_cert")
def rsa_cert_fixture() -> trustme.LeafCert:
    """An RSA server certificate for 127.0.0.1 (an IP SAN, as a camera addressed by IP needs)
    from :func:`ca_fixture`."""
    return make_leaf("127.0.0.1")


@pytest.fixture(scope="session", name="ca_file")
def ca_file_fixture(tmp_path_factory: pytest.TempPathFactory) -> str:
    """:func:`ca_fixture`'s certificate as a file (in this worker's temporary directory)."""
    return write_ca(make_ca(), tmp_path_factory.mktemp("ca"))
