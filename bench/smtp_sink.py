"""A fast SMTP sink for benchmarks: accepts every message and keeps nothing.

    python -m bench.smtp_sink PORT      (prints "ready", stops when stdin closes)

aiosmtpd handles a message line by line in Python; on this 2-core machine it, not the
sender, was the ceiling of every way of sending (about 170 emails/s, whether one
connection per email or four pooled). A mail relay written in C does not cost its
clients that, so the benchmarks measure against this sink: commands are parsed per line,
the DATA is taken in bulk up to the CRLF.CRLF that ends it.
"""

from __future__ import annotations

import asyncio
import sys


class Session(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        self.in_data = False
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                self.transport.write(b"250 OK queued\r\n")
                continue
            line, sep, rest = self.buffer.partition(b"\r\n")
            if not sep:
                return
            self.buffer = rest
            self.command(line[:4].upper())

    def command(self, verb: bytes) -> None:
        if verb == b"EHLO":
            self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
        elif verb == b"DATA":
            self.in_data = True
            self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        elif verb == b"QUIT":
            self.transport.write(b"221 Bye\r\n")
            self.transport.close()
        else:  # HELO, MAIL, RCPT, RSET, NOOP
            self.transport.write(b"250 OK\r\n")


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, "127.0.0.1", port)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
