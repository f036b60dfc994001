"""The Chat API under /api/Chat/ (published spellings, matched in any case)."""

from apps.chat.api import stream, views
from apps.core import openapi  # noqa: F401  (registers the bearer scheme with drf-spectacular)
from apps.core.routing import ci_path

conversations = views.GetConversationsView.as_view()
undocumented = views.GetConversationsUndocumentedView.as_view()

urlpatterns = [
    # The prompts first: the busiest routes (Django tries the patterns in order, a regex each).
    ci_path("api/Chat/AskAgent", stream.ask_agent, name="chat-ask-agent"),
    ci_path("api/Chat/ChatWithAgent", stream.chat_with_agent, name="chat-with-agent"),
    ci_path("api/Chat/ListAgents", views.ListAgentsView.as_view(), name="chat-list-agents"),
    ci_path("api/Chat/CreateConversation", views.CreateConversationView.as_view(), name="chat-create-conversation"),
    ci_path("api/Chat/GetConversations", conversations, name="chat-conversations"),
    ci_path(
        "api/Chat/GetConversations/<agentid>",
        views.GetConversationsByAgentView.as_view(),
        name="chat-conversations-agent",
    ),
    ci_path("api/Chat/GetConversations/<agentid>/<results>/<skip>", undocumented, name="chat-conversations-page"),
    ci_path("api/Chat/GetConversations/<agentid>/<results>/<skip>/", undocumented),
    ci_path(
        "api/Chat/GetConversations/<agentid>/<results>/<skip>/<metadatasearch>",
        views.GetConversationsPageView.as_view(),
        name="chat-conversations-search",
    ),
    # The OAuth2 page's example: "only accessible by users, thus requiring a user token".
    ci_path("api/GetConversations", views.GetConversationsShortView.as_view(), name="conversations-short"),
    ci_path(
        "api/Chat/GetConversation/<conversation_id>", views.GetConversationView.as_view(), name="chat-conversation"
    ),
    ci_path(
        "api/Chat/DeleteConversation/<conversation_id>",
        views.DeleteConversationView.as_view(),
        name="chat-delete-conversation",
    ),
    ci_path("api/Chat/CancelAnswer", views.CancelAnswerQueryView.as_view(), name="chat-cancel-query"),
    ci_path("api/Chat/CancelAnswer/<message_id>", views.CancelAnswerView.as_view(), name="chat-cancel"),
    ci_path("api/Chat/SubmitFeedback", views.SubmitFeedbackView.as_view(), name="chat-feedback"),
    ci_path(
        "api/Chat/AddFileToConversation/<conversation_id>",
        views.AddFileToConversationView.as_view(),
        name="chat-add-file",
    ),
    ci_path("api/Chat/AddFilesToAgent/<agent_id>", views.AddFilesToAgentView.as_view(), name="chat-add-agent-files"),
    ci_path("api/Chat/DeleteFile/<file_id>", views.DeleteFileView.as_view(), name="chat-delete-file"),
]
