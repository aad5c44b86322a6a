"""Client CPU per HTTP request: our transports against bare http.client and urllib3's pool.

    python benchmarks/bench_transport.py [--requests 2000] [--rounds 5] [--tree DIR]

A raw keep-alive server in a child process answers every POST with a fixed JSON reply (the
emulator's headers; a small reply and one the size of a 64-channel poll answer). Each client
sends the same POST over one kept-alive loopback connection; the figure is this process's CPU
time per request (median [min-max] of the rounds), user and system time together. Our
transports send it as the driver sends a poll (repeatable, equal connect and read timeouts,
JSON content type), so the connection is kept alive: a request that is not repeatable would
get a new connection each time. It isolates the transport: no driver, no JSON parsing. Not
part of run.py's tables.

``--tree DIR`` measures the ``reolink`` and ``transports`` packages of another checkout (e.g.
the tree before a change): run both, alternated, and compare the minimums. The machine is
shared: single runs vary by 30 % and more.
"""

from __future__ import annotations

import argparse
import http.client
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable, Dict, List

if __name__ == "__main__" and "--tree" in sys.argv[1:-1]:  # before the packages are imported
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()))
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import transports
from reolink.transport import Request

SERVER = textwrap.dedent("""
    import socket, sys, threading
    body = b'{"cmd":"GetMdState","code":0,"value":{"state":0}},' * int(sys.argv[1])
    head = (b"HTTP/1.1 200 OK\\r\\nServer: nginx\\r\\nDate: Wed, 02 Dec 2026 03:00:00 GMT\\r\\n"
            b"Content-Type: text/html\\r\\nContent-Length: %d\\r\\n"
            b"Connection: keep-alive\\r\\n\\r\\n")
    reply = head % len(body) + body
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)

    def serve(conn):
        buffer = b""
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
            while b"\\r\\n\\r\\n" in buffer:
                head_, _, rest = buffer.partition(b"\\r\\n\\r\\n")
                length = 0
                for line in head_.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if len(rest) < length:
                    break
                buffer = rest[length:]
                conn.sendall(reply)

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
""")

BODY = b'[{"cmd":"GetMdState","action":0,"param":{"channel":0}}]'
TARGET = "/cgi-bin/api.cgi?cmd=GetMdState&token=0123456789abcdef"


def _clients(port: int) -> Dict[str, Callable[[], bytes]]:
    ours_u3 = transports.open_transport(scheme="http", host="127.0.0.1", port=port, kind="urllib3")
    ours_std = transports.open_transport(scheme="http", host="127.0.0.1", port=port, kind="stdlib")
    request = Request(
        "POST", TARGET, body=BODY, headers={"Content-Type": "application/json"},
        connect_timeout=8.0, read_timeout=8.0, repeatable=True, changes_state=False,
    )
    bare = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
    headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}

    def bare_send() -> bytes:
        bare.request("POST", TARGET, body=BODY, headers=headers)
        return bare.getresponse().read()

    clients = {
        "ours urllib3": lambda: ours_u3.send(request).body,
        "ours stdlib": lambda: ours_std.send(request).body,
        "http.client": bare_send,
    }
    try:
        import urllib3

        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
        clients["urllib3 pool"] = lambda: pool.urlopen(
            "POST", TARGET, body=BODY, headers=headers
        ).data
    except ImportError:
        pass
    return clients


def _measure(send: Callable[[], bytes], requests: int, rounds: int) -> List[float]:
    for _ in range(200):
        send()
    figures = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            send()
        figures.append((time.process_time() - started) / requests * 1e6)
    return sorted(figures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client")
    parser.add_argument("--tree", help="measure the packages of this checkout instead")
    args = parser.parse_args()
    print("Client CPU per request, us (median [min-max]), loopback keep-alive, "
          f"Python {sys.version.split()[0]}, transports from {Path(transports.__file__).parent}")
    for commands in (1, 67):
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(commands)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            for name, send in _clients(port).items():
                fig = _measure(send, args.requests, args.rounds)
                print(f"  reply of {commands:2d} entries  {name:13s} "
                      f"{fig[len(fig) // 2]:6.1f} [{fig[0]:.1f}-{fig[-1]:.1f}]")
        finally:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
