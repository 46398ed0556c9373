"""A real MCP server (the SDK's MCPServer) with what goes beyond plain tools.

Structured output with an output schema, a result of images and embedded
resources, tools that ask the user (the resolver style, which the SDK sends
as an input-required result on 2026-07-28 connections and as
``elicitation/create`` on older ones; and the older ``ctx.elicit`` style), a
tool that asks the client's model (``sampling/createMessage``), a tool that
grows the tool list and says so, and a count of the ``tools/list`` requests
it served.

Imported for in-process use (:func:`make_server`), run as a script for stdio
(``python rich_server.py [--ttl-ms N]``), or over streamable HTTP
(``--http PORT``). A client picks the older protocol with ``protocol = "legacy"``.
"""

from __future__ import annotations

import base64
import os
import sys
import threading
from typing import Annotated, Literal

import mcp_types as types
from mcp.server.caching import CacheHint
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve, Sample
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

#: A 1x1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4 a tiny test document"


class Forecast(BaseModel):
    city: str
    temperature: float
    sky: Literal["clear", "cloudy", "rain"]


class Booking(BaseModel):
    date: str
    guests: int


async def ask_booking(ctx: Context) -> Elicit[Booking]:
    return Elicit("Which date, and for how many guests?", Booking)


async def ask_model(topic: str) -> Sample:
    prompt = types.SamplingMessage(
        role="user", content=types.TextContent(type="text", text=f"A haiku about {topic}")
    )
    return Sample([prompt], max_tokens=60, system_prompt="You are a poet.")


class CountingServer(MCPServer):
    """Counts the tools/list requests it answers."""

    listed = 0

    async def list_tools(self):  # type: ignore[no-untyped-def]
        self.listed += 1
        return await super().list_tools()


def make_server(ttl_ms: int | None = None) -> CountingServer:
    hints = {"tools/list": CacheHint(ttl_ms=ttl_ms)} if ttl_ms is not None else None
    server = CountingServer("rich", cache_hints=hints)

    @server.tool()
    def forecast(city: str) -> Forecast:
        """Tomorrow's weather in a city."""
        return Forecast(city=city, temperature=21.5, sky="clear")

    @server.tool()
    def snapshot() -> types.CallToolResult:
        """A chart, the notes it is drawn from, and the report."""
        return types.CallToolResult(
            content=[
                types.TextContent(type="text", text="Here is the chart."),
                types.ImageContent(
                    type="image", data=base64.b64encode(PNG).decode(), mime_type="image/png"
                ),
                types.EmbeddedResource(
                    type="resource",
                    resource=types.TextResourceContents(
                        uri="notes://chart", mime_type="text/markdown", text="# Sales\nUp 4%."
                    ),
                ),
                types.EmbeddedResource(
                    type="resource",
                    resource=types.BlobResourceContents(
                        uri="files://report.pdf",
                        mime_type="application/pdf",
                        blob=base64.b64encode(PDF).decode(),
                    ),
                ),
            ]
        )

    @server.tool()
    async def book(
        table: str, booking: Annotated[ElicitationResult[Booking], Resolve(ask_booking)]
    ) -> str:
        """Book a table (asks the user for the date and the number of guests)."""
        if booking.action != "accept":
            return f"Not booked: the user chose {booking.action}."
        return f"Booked {table} on {booking.data.date} for {booking.data.guests}."

    @server.tool()
    async def book_directly(table: str, ctx: Context) -> str:
        """Book a table, asking with ctx.elicit (older servers' way: elicitation/create)."""
        answer = await ctx.elicit("Which date, and for how many guests?", Booking)
        if answer.action != "accept":
            return f"Not booked: the user chose {answer.action}."
        return f"Booked {table} on {answer.data.date} for {answer.data.guests}."

    @server.tool()
    async def book_then_crash(ctx: Context) -> str:
        """Asks (elicitation/create), and dies a second later without waiting for the answer."""
        threading.Timer(1.0, os._exit, [3]).start()
        await ctx.elicit("Which date, and for how many guests?", Booking)
        return "unreachable"

    @server.tool()
    async def haiku(topic: str, ctx: Context) -> str:
        """A haiku from the client's model (sampling/createMessage, the older way)."""
        prompt = types.SamplingMessage(
            role="user", content=types.TextContent(type="text", text=f"A haiku about {topic}")
        )
        reply = await ctx.session.create_message(
            messages=[prompt], max_tokens=60, system_prompt="You are a poet."
        )
        return f"The model wrote: {reply.content.text}"

    @server.tool()
    async def haiku_resolved(
        topic: str, reply: Annotated[types.CreateMessageResult, Resolve(ask_model)]
    ) -> str:
        """A haiku from the client's model (the resolver style)."""
        return f"The model wrote: {reply.content.text}"  # type: ignore[union-attr]

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Adds the tool 'sprout' and tells the client its tools changed."""

        def sprout() -> str:
            """A tool that was not there before."""
            return "hello"

        server.add_tool(sprout)
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            await ctx.notify_tools_changed()
        else:
            await ctx.session.send_tool_list_changed()
        return "grown"

    @server.tool()
    def tools_listed() -> int:
        """How many tools/list requests this server answered."""
        return server.listed

    return server


if __name__ == "__main__":
    args = sys.argv[1:]
    ttl = int(args[args.index("--ttl-ms") + 1]) if "--ttl-ms" in args else None
    server = make_server(ttl)
    if "--http" in args:
        import uvicorn

        port = int(args[args.index("--http") + 1])
        uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=port, log_level="error")
    else:
        server.run()
