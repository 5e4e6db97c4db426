"""Run localstripe on 127.0.0.1 only, on a free port, without its on-disk store.

localstripe's own CLI binds every interface (``::``) and pickles its store to
/tmp/localstripe.pickle after each write; a test fake must do neither. This prints the port
it listens on, then serves until killed.
"""

from __future__ import annotations

import socket
import sys

from aiohttp import web
from localstripe.resources import store
from localstripe.server import app


def main() -> None:
    store.dump_to_disk = lambda: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    sys.exit(main())
