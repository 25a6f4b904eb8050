"""Tests that use a fixed port or a fixed file path: two at once collide, so
herd runs them exclusive."""
import asyncio
import socket
from pathlib import Path

PORT = 8080


def test_fixed_port_bind():
    s = socket.socket()
    s.bind(("127.0.0.1", PORT))  # doctor: port-bind
    s.listen()
    s.close()


def test_fixed_port_keyword():
    async def handle(reader, writer):
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, host="127.0.0.1", port=5432)  # doctor: port-keyword
        server.close()

    asyncio.run(main())


def test_fixed_absolute_path():
    with open("/tmp/herd-doctor-fixed.txt", "w") as f:  # doctor: path-absolute
        f.write("x")


def test_fixed_relative_path():
    with open("herd-doctor-output.txt", "a") as f:  # doctor: path-relative
        f.write("x")


def test_fixed_pathlib_path():
    Path("/tmp/herd-doctor.json").write_text("{}")  # doctor: path-pathlib
