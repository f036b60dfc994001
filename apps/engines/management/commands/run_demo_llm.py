import asyncio
import contextlib

from django.core.management.base import BaseCommand, CommandError

from apps.engines.demo import compose_answer
from apps.engines.fakes import FakeEngineServer, Script


class Command(BaseCommand):
    help = (
        "DEVELOPMENT TOOL: serve a fake LLM on the OpenAI chat completions wire format (POST /v1/chat/completions, "
        "streaming word by word or not, with usage) that answers with text composed from the prompt, so that "
        "the demo agent works offline. Point an agent of engine 'llama' at http://HOST:PORT/v1. "
        "It is not a language model and not a production engine."
    )
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="Port to listen on (default 8765).")
        parser.add_argument(
            "--delay", type=float, default=0.03, help="Seconds between two streamed words (default 0.03)."
        )

    def handle(self, *args, **options) -> None:
        if not 0 <= options["port"] <= 65535:
            raise CommandError("--port must be between 0 and 65535.")
        if not 0 <= options["delay"] <= 5:
            raise CommandError("--delay must be between 0 and 5 seconds.")
        # Any key is accepted (or none): this engine guards nothing and must stay on a trusted interface.
        server = FakeEngineServer(
            "llama",
            host=options["host"],
            port=options["port"],
            api_key="",
            answer=compose_answer,
            script=Script(delay=options["delay"], input_tokens=-1),
        )

        async def serve() -> None:
            try:
                await server.start_async()
            except OSError as exc:
                raise CommandError(f"cannot listen on {options['host']}:{options['port']}: {exc.strerror}") from None
            self.stdout.write(f"Development engine (not a real LLM) on {server.base_url} — Ctrl+C stops it.")
            self.stdout.flush()
            await server.serve_forever()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
