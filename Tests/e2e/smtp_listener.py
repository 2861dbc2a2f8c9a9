"""A real SMTP listener on loopback for the end-to-end tests (aiosmtpd): it requires AUTH with the user and
password it is given, and writes each message it takes to DIR/NNNNNN.json (envelope, the AUTH user, the raw
message). Recipients choose how it answers:

- `tempfail-…@…`: 451 to RCPT the first two times for that address, then taken;
- `reject-…@…`: 550 to RCPT, always.

Run: python smtp_listener.py --port P --dir DIR --user U --password W
"""

import argparse
import itertools
import json
import os
import signal
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        self.tempfails = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        if local.startswith("tempfail"):
            with self.lock:
                seen = self.tempfails.get(address.lower(), 0)
                self.tempfails[address.lower()] = seen + 1
            if seen < 2:
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, f"{os.getpid()}-{n:06d}.json")
        with open(path + ".part", "w") as f:
            json.dump(record, f)
        os.rename(path + ".part", path)  # readers never see half a message
        return "250 2.0.0 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        # handled=False: the server itself answers a refusal (535); auth_data lands in session.auth_data.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    controller = Controller(Handler(args.dir), hostname="127.0.0.1", port=args.port, authenticator=authenticate,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
