"""The Scanner API: ``POST /api/Scanner/Scan`` and ``POST /api/Scanner/ScanFile``.

Any token whose client holds the ``scanner`` grant. The company comes from the token; an ``agentId`` of another
company is a 404 exactly like a missing one. Scanning is CPU-bound: these views are synchronous (Django runs them
in a thread under ASGI), so a large text never blocks the event loop.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import exceptions
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.agents.models import Agent
from apps.agents.selectors import get_agent_for_company
from apps.audit.services import Actor
from apps.documents.extraction import DocumentError, extract_text
from apps.oauth.authentication import BearerContext
from apps.oauth.grants import SCANNER
from apps.oauth.permissions import HasAccessToken, RequiresGrant, bearer_context
from apps.oauth.throttling import throttle_hit
from apps.scanners.api import serializers as s
from apps.scanners.detectors.base import ScanContext
from apps.scanners.pipeline import scan_file, scan_text
from apps.scanners.selectors import scanner_settings_for
from apps.scanners.services import scan_hits_record
from apps.users_api.views import problems


class ScannerAPIView(APIView):
    permission_classes = [HasAccessToken, RequiresGrant(SCANNER)]

    @property
    def bearer(self) -> BearerContext:
        return bearer_context(self.request)

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # After authentication: counted per API client, so one client cannot starve the others' scanners.
        wait = throttle_hit(scope="scanner", ident=self.bearer.client.client_id, rate=settings.SCANNER_RATE_PER_CLIENT)
        if wait:
            raise exceptions.Throttled(wait)

    def agent(self, agent_id: str | None) -> Agent | None:
        if not agent_id:
            return None
        try:
            return get_agent_for_company(self.bearer.company, agent_id)
        except Http404:
            raise exceptions.NotFound("No agent with this agentId.") from None

    def settings_map(self, agent: Agent | None, names: list[str] | None) -> dict:
        settings_map = scanner_settings_for(self.bearer.company, agent)
        if names is not None:
            disabled = sorted(set(names) - set(settings_map))
            if disabled:
                raise exceptions.ValidationError(
                    {"scanners": [f"Not enabled for this company or agent: {', '.join(disabled)}."]}
                )
        return settings_map

    def record(self, results, *, direction: str, agent: Agent | None) -> None:
        actor = Actor.from_request(self.request, user=self.bearer.user, client=self.bearer.client)
        scan_hits_record(
            company=self.bearer.company, actor=actor, results=results, direction=direction, source="api", agent=agent
        )


SCAN_EXAMPLE = OpenApiExample(
    "A prompt with an e-mail address",
    value={"text": "Mail jane@example.com the report", "direction": "prompt"},
    request_only=True,
)


class ScanView(ScannerAPIView):
    @extend_schema(
        tags=["Scanner"],
        operation_id="Scanner_Scan",
        description="Run the company's scanners (or the agent's, with `agentId`; only the named ones with "
        "`scanners`) on a text. Needs the `scanner` grant. `start`/`end` of each finding are character offsets "
        "into `text`, end exclusive. Hits are recorded and audited.",
        request=s.ScanInputSerializer,
        examples=[SCAN_EXAMPLE],
        responses={200: s.ScanOutputSerializer, **problems(400, 401, 403, 404, 405, 415)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ScanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        agent = self.agent(data.get("agentId"))
        names = data.get("scanners")
        settings_map = self.settings_map(agent, names)
        context = ScanContext(direction=data["direction"], client_ip=Actor.from_request(request).ip)
        outcome = scan_text(settings_map, data["text"], context, names=names)
        self.record(outcome.results, direction=data["direction"], agent=agent)
        return Response(outcome.to_dict())


class ScanFileView(ScannerAPIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["Scanner"],
        operation_id="Scanner_ScanFile",
        description="The file's type by content (a name that contradicts the content is refused with both types "
        "named), then its extracted text through the prompt scanners. Multipart field `file`, optional "
        "`agentId`. Needs the `scanner` grant.",
        request={"multipart/form-data": s.ScanFileInputSerializer},
        responses={200: s.ScanOutputSerializer, **problems(400, 401, 403, 404, 405, 415)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.ScanFileInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        agent = self.agent(serializer.validated_data.get("agentId"))
        data = upload.read()
        name = upload.name or ""
        try:
            text = extract_text(filename=name, content=data, max_chars=settings.SCANNER_MAX_TEXT_CHARS).text
        except DocumentError:
            text = ""  # an image, an archive, a damaged file: the type check alone decides
        outcome = scan_file(self.settings_map(agent, None), data, name, text=text)
        self.record(outcome.results, direction="file", agent=agent)
        return Response(outcome.to_dict())
