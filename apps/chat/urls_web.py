"""The chat in the browser (apps/chat/web.py): /, /login/, /logout/ and /chat/...; the Chat API is apps/chat/api/."""

from django.urls import path

from apps.chat import web

app_name = "chat"

urlpatterns = [
    path("", web.home, name="home"),
    path("login/", web.LoginView.as_view(), name="login"),
    path("logout/", web.LogoutView.as_view(), name="logout"),
    path("chat/", web.index, name="index"),
    path("chat/start", web.start, name="start"),
    path("chat/conversations", web.conversations, name="conversations"),
    path("chat/c/<str:conversation_id>/", web.conversation_page, name="conversation"),
    path("chat/c/<str:conversation_id>/ask", web.ask, name="ask"),
    path("chat/c/<str:conversation_id>/stop", web.stop, name="stop"),
    path("chat/c/<str:conversation_id>/remove", web.remove, name="remove"),
    path("chat/c/<str:conversation_id>/files", web.attach, name="attach"),
    path("chat/c/<str:conversation_id>/m/<str:message_id>", web.message_fragment, name="message"),
    path("chat/c/<str:conversation_id>/m/<str:message_id>/feedback", web.feedback, name="feedback"),
]
