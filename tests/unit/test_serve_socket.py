"""`cdsflow serve`'s socket: the connections it accepts have Nagle turned off by asyncio (as uvicorn
serves them), so a response is never held ~40 ms waiting for the client's delayed ACK."""
import asyncio
import socket

from cdsflow.app.cli_web import listening_socket


def test_connections_accepted_on_the_serve_socket_have_tcp_nodelay():
    seen: list[int] = []

    async def main() -> None:
        sock = listening_socket("127.0.0.1", 0)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1])
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0
