"""Shapes of the Compliance API, for the OpenAPI schema. The criteria themselves are validated by the search form
(apps/compliance/forms.py), the same as on the search page; these serializers document them and shape answers."""

from __future__ import annotations

from rest_framework import serializers

from apps.chat.models import Feedback
from apps.compliance.selectors import ORDER_NEWEST, ORDER_RANK
from apps.scanners.models import SCANNER_CHOICES

CRITERIA_HELP = {
    "q": 'The text: words (all must occur), "quoted phrases", prefix* (docs/compliance.md). Up to 500 characters; '
    "text that is not a word is ignored, never an error.",
    "user": "Only this user's conversations (userid).",
    "group": "Only conversations of this group's members (group id).",
    "agent": "Only conversations with this agent (agent id).",
    "date_from": "Messages from this day on (YYYY-MM-DD, the company's time zone).",
    "date_to": "Messages up to and including this day.",
    "hits": "Only messages a scanner of one of these kinds hit (repeat the parameter, or a JSON list).",
    "flagged": "Only messages a scanner hit and messages of flagged conversations.",
    "feedback": "Only answers with this feedback.",
    "order": "`newest` (default) or `rank` (best match first, among the 1,000 most recent matches).",
}


class CriteriaSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=500, help_text=CRITERIA_HELP["q"])
    user = serializers.CharField(required=False, help_text=CRITERIA_HELP["user"])
    group = serializers.IntegerField(required=False, help_text=CRITERIA_HELP["group"])
    agent = serializers.CharField(required=False, help_text=CRITERIA_HELP["agent"])
    date_from = serializers.DateField(required=False, help_text=CRITERIA_HELP["date_from"])
    date_to = serializers.DateField(required=False, help_text=CRITERIA_HELP["date_to"])
    hits = serializers.ListField(
        child=serializers.ChoiceField(choices=SCANNER_CHOICES), required=False, help_text=CRITERIA_HELP["hits"]
    )
    flagged = serializers.BooleanField(required=False, help_text=CRITERIA_HELP["flagged"])
    feedback = serializers.ChoiceField(choices=Feedback.choices, required=False, help_text=CRITERIA_HELP["feedback"])
    order = serializers.ChoiceField(
        choices=[ORDER_NEWEST, ORDER_RANK], required=False, help_text=CRITERIA_HELP["order"]
    )


class SearchInputSerializer(CriteriaSerializer):
    page = serializers.IntegerField(required=False, min_value=1, help_text="1-based page (default 1).")
    pageSize = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="Results per page (default 50, at most 200)."
    )


class ExportInputSerializer(CriteriaSerializer):
    format = serializers.ChoiceField(choices=["csv", "jsonl"], required=False, help_text="`csv` (default) or `jsonl`.")


class HitSerializer(serializers.Serializer):
    scanner = serializers.CharField()
    action = serializers.CharField(help_text="flag, redact or block.")
    direction = serializers.CharField(help_text="prompt, answer or file.")
    score = serializers.FloatField()


class ResultSerializer(serializers.Serializer):
    messageId = serializers.CharField()
    conversationId = serializers.CharField()
    conversationTitle = serializers.CharField()
    user = serializers.CharField(help_text="The conversation's user (e-mail).")
    userid = serializers.CharField()
    agent = serializers.CharField(help_text="The agent's name.")
    agentId = serializers.CharField()
    type = serializers.CharField(help_text="User, AI or System.")
    created = serializers.DateTimeField()
    feedback = serializers.CharField(allow_null=True)
    snippet = serializers.CharField(
        help_text="The matched passage as HTML: the message's text escaped, each match in <mark>...</mark>."
    )
    score = serializers.FloatField(allow_null=True, help_text="Relevance (order=rank only; higher is better).")
    hits = HitSerializer(many=True)


class ResultPageSerializer(serializers.Serializer):
    data = ResultSerializer(many=True)
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    totalCount = serializers.IntegerField(
        help_text="Matches, or at least this many when totalCountIsLowerBound: searches are not counted beyond the "
        "page (then one more than the page's last row when there is a next page), except text searches with fewer "
        "than 2,000 matches, which are exact."
    )
    totalCountIsLowerBound = serializers.BooleanField(help_text="True when more matches may exist than totalCount.")
    totalPages = serializers.IntegerField()


class MessageSerializer(serializers.Serializer):
    messageId = serializers.CharField()
    type = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField()
    feedback = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    cost = serializers.CharField(help_text="USD, as a decimal string.")
    inputTokens = serializers.IntegerField()
    outputTokens = serializers.IntegerField()
    hits = HitSerializer(many=True)


class FileSerializer(serializers.Serializer):
    documentId = serializers.CharField()
    fileName = serializers.CharField()
    size = serializers.IntegerField()
    status = serializers.CharField()


class ConversationSerializer(serializers.Serializer):
    conversationId = serializers.CharField()
    title = serializers.CharField()
    user = serializers.CharField()
    userid = serializers.CharField()
    agent = serializers.CharField()
    agentId = serializers.CharField()
    created = serializers.DateTimeField()
    lastUpdated = serializers.DateTimeField()
    hasFlag = serializers.BooleanField()
    removedFromHistory = serializers.BooleanField(help_text="The user hid it from their history (kept for compliance).")
    totalTokens = serializers.IntegerField()
    totalCost = serializers.CharField()
    messages = MessageSerializer(many=True)
    otherHits = HitSerializer(many=True, help_text="Hits of the conversation on no stored message (blocked prompts).")
    files = FileSerializer(many=True)


class SavedSearchInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    criteria = CriteriaSerializer(required=False)
    shared = serializers.BooleanField(required=False, help_text="Let the company's compliance officers run it.")


class SavedSearchPatchSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    criteria = CriteriaSerializer(required=False)
    shared = serializers.BooleanField(required=False)


class SavedSearchSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    criteria = CriteriaSerializer()
    shared = serializers.BooleanField()
    owner = serializers.CharField(help_text="The owner's e-mail.")
    mine = serializers.BooleanField(help_text="False for a search another officer shared (read-only to you).")
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
