"""OpenAPI (drf-spectacular) description of the bearer authentication, so that every protected endpoint is
documented as needing ``Authorization: Bearer <access_token>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.oauth.authentication.BearerTokenAuthentication"
    name = "oauth2Bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/oauth2/Token (generic, or for a user with userid). "
            "Sent only in the Authorization header, never in the query string.",
        }
